/**
 * cloudfront: signed CloudFront URLs (checked here against the public key, independently of the
 * signer), and the AWS IP-range filter against a local HTTP server serving an ip-ranges.json.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isInvalidParameter, isInvalidPath } from '@stowage/core';
import { CloudFrontMiddleware, type CloudFrontOptions } from '@stowage/middleware';
import { ScriptedDriver, sleep } from './helpers';

const BASE = 'https://d111111abcdef8.cloudfront.net';

/** Checks a canned-policy signed URL: Expires, Key-Pair-Id, and the RSA-SHA1 signature over the policy. */
function assertSigned(href: string, publicKey: KeyObject, keyPairId: string, expectedPath: string, expiresAround: number): void {
  const url = new URL(href);
  assert.equal(`${url.origin}${url.pathname}`, `${BASE}${expectedPath}`);
  assert.equal(url.searchParams.get('Key-Pair-Id'), keyPairId);
  const expires = Number(url.searchParams.get('Expires'));
  assert.ok(Math.abs(expires - expiresAround) <= 2, `Expires ${expires} near ${expiresAround}`);
  const resource = `${url.origin}${url.pathname}`;
  const policy = JSON.stringify({ Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': expires } } }] });
  const signature = Buffer.from(url.searchParams.get('Signature')!.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');
  assert.ok(verify('RSA-SHA1', Buffer.from(policy), publicKey, signature), 'the signature verifies with the key pair');
}

describe('middleware: cloudfront', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  let server: Server;
  let rangesURL: string;
  let ranges: object;
  let fetches = 0;
  const opened: CloudFrontMiddleware[] = [];

  const build = (inner: ScriptedDriver, options: Partial<CloudFrontOptions> = {}) => {
    const middleware = new CloudFrontMiddleware(inner, {
      baseURL: `${BASE}/`,
      privateKey: pem,
      keyPairId: 'K2JCJMDEHXQW5F',
      ipRangesURL: rangesURL,
      ...options,
    });
    opened.push(middleware);
    return middleware;
  };

  before(async () => {
    ranges = {
      prefixes: [
        { ip_prefix: '3.5.140.0/22', region: 'ap-northeast-2', service: 'AMAZON' },
        { ip_prefix: '52.94.0.0/16', region: 'us-east-1', service: 'AMAZON' },
      ],
      ipv6_prefixes: [{ ipv6_prefix: '2600:1f18::/33', region: 'us-east-1', service: 'AMAZON' }],
    };
    server = createServer((request, response) => {
      fetches++;
      if (request.url === '/broken') {
        response.writeHead(500).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ranges));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    rangesURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ip-ranges.json`;
  });
  after(async () => {
    for (const middleware of opened) middleware.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("signs baseurl + path with the key pair, valid for duration (or the call's expiresIn), without calling the driver", async () => {
    const inner = new ScriptedDriver();
    const driver = build(inner, { durationMs: 3000_000 });
    assert.equal(driver.supports.redirect, true);
    const now = Math.floor(Date.now() / 1000);
    assertSigned(
      (await driver.redirectURL('/docker/registry/v2/blobs/sha256/ab/abcd/data'))!,
      publicKey,
      'K2JCJMDEHXQW5F',
      '/docker/registry/v2/blobs/sha256/ab/abcd/data',
      now + 3000,
    );
    assertSigned((await driver.redirectURL('/x', { expiresIn: 60 }))!, publicKey, 'K2JCJMDEHXQW5F', '/x', now + 60);
    assert.equal(inner.calls.redirectURL, undefined);
    await assert.rejects(driver.redirectURL('/a/../b'), isInvalidPath);
  });

  it("ipfilteredby aws: clients inside AWS get the driver's own URL, others (and unknown clients) CloudFront", async () => {
    const inner = new ScriptedDriver();
    await inner.memory.putContent('/f', Buffer.from('x'));
    const driver = build(inner, { ipFilteredBy: 'aws' });
    assert.match((await driver.redirectURL('/f', { clientIP: '52.94.1.2' }))!, /^https:\/\/store\.example\.test\/bucket\/f/);
    assert.match((await driver.redirectURL('/f', { clientIP: '3.5.141.9' }))!, /^https:\/\/store\.example\.test/);
    assert.match((await driver.redirectURL('/f', { clientIP: '2600:1f18::1' }))!, /^https:\/\/store\.example\.test/);
    for (const clientIP of ['8.8.8.8', '2001:db8::1', 'not an ip', undefined]) {
      assert.ok((await driver.redirectURL('/f', { clientIP }))!.startsWith(BASE), String(clientIP));
    }
  });

  it('ipfilteredby awsregion: only the listed regions count', async () => {
    const inner = new ScriptedDriver();
    await inner.memory.putContent('/f', Buffer.from('x'));
    const driver = build(inner, { ipFilteredBy: 'awsregion', awsRegions: ['us-east-1'] });
    assert.match((await driver.redirectURL('/f', { clientIP: '52.94.1.2' }))!, /^https:\/\/store\.example\.test/);
    assert.ok((await driver.redirectURL('/f', { clientIP: '3.5.141.9' }))!.startsWith(BASE), 'ap-northeast-2 is not listed');
  });

  it('fetches the ranges again every updatefrequency; a failed fetch leaves every client outside AWS and is recorded', async () => {
    const inner = new ScriptedDriver();
    await inner.memory.putContent('/f', Buffer.from('x'));
    const before = fetches;
    const driver = build(inner, { ipFilteredBy: 'aws', updateFrequencyMs: 30 });
    await driver.redirectURL('/f', { clientIP: '8.8.8.8' });
    await sleep(150);
    assert.ok(fetches - before >= 3, `fetched again: ${fetches - before}`);
    driver.close();

    const broken = build(inner, { ipFilteredBy: 'aws', ipRangesURL: rangesURL.replace('/ip-ranges.json', '/broken') });
    assert.ok((await broken.redirectURL('/f', { clientIP: '52.94.1.2' }))!.startsWith(BASE));
    assert.match(String(broken.lastUpdateError), /HTTP 500/);
  });

  it('refuses a bad key (without showing it), URL, filter or duration', () => {
    const inner = new ScriptedDriver();
    const bad = (options: Partial<CloudFrontOptions>, pattern: RegExp) =>
      assert.throws(
        () => build(inner, options),
        (err: Error) => isInvalidParameter(err) && pattern.test(err.message) && !err.message.includes('PRIVATE KEY'),
      );
    bad({ privateKey: 'not a key' }, /cloudfront: parameter privateKey: is not a PEM private key/);
    bad({ baseURL: 'd1.cloudfront.net' }, /parameter baseURL: must be an absolute URL/);
    bad({ keyPairId: '' }, /parameter keyPairId: is required/);
    bad({ ipFilteredBy: 'awsregion' }, /parameter awsRegions: is required/);
    bad({ durationMs: 0 }, /parameter durationMs: must be a positive duration/);
  });
});
