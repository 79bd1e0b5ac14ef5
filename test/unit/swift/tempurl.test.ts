import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MiB } from '@stowage/core';
import { SwiftDriver, tempUrl, type SwiftDriverOptions } from '@stowage/swift';
import { TEMP_URL_KEY, dropContainer, swiftContainer } from '../../helpers/swift-native';
import { bytes, raw } from './helpers';

/** The signature Swift's tempurl middleware expects, computed here independently of the driver. */
const expectedSignature = (key: string, method: string, expires: number, path: string) =>
  createHmac('sha256', key).update(`${method}\n${expires}\n${path}`).digest('hex');

describe('swift: tempUrl()', () => {
  const expires = 1_900_000_000;

  it("signs METHOD, expiry and the object's /v1 path with HMAC-SHA256", () => {
    const url = tempUrl({
      storageUrl: 'https://swift.example.com/v1/AUTH_test',
      container: 'registry',
      object: 'docker/files/a',
      method: 'GET',
      expires,
      key: 'k1',
    });
    const signature = expectedSignature('k1', 'GET', expires, '/v1/AUTH_test/registry/docker/files/a');
    assert.equal(url, `https://swift.example.com/v1/AUTH_test/registry/docker/files/a?temp_url_sig=${signature}&temp_url_expires=${expires}`);
    // The method is part of what is signed.
    const head = new URL(
      tempUrl({ storageUrl: 'https://swift.example.com/v1/AUTH_test', container: 'registry', object: 'docker/files/a', method: 'HEAD', expires, key: 'k1' }),
    );
    assert.equal(head.searchParams.get('temp_url_sig'), expectedSignature('k1', 'HEAD', expires, '/v1/AUTH_test/registry/docker/files/a'));
  });

  it('signs from /v1/ on when the storage URL has a path prefix', () => {
    const url = new URL(
      tempUrl({ storageUrl: 'https://cloud.example.com/object-store/v1/AUTH_abc/', container: 'c', object: 'p/files/x', method: 'GET', expires, key: 'k2' }),
    );
    assert.equal(url.pathname, '/object-store/v1/AUTH_abc/c/p/files/x');
    assert.equal(url.searchParams.get('temp_url_sig'), expectedSignature('k2', 'GET', expires, '/v1/AUTH_abc/c/p/files/x'));
    assert.equal(url.searchParams.get('temp_url_expires'), String(expires));
  });

  it('escapes odd names in the URL but signs them unescaped', () => {
    const object = 'p/files/a b?c#d%e+f/ü日';
    const url = tempUrl({ storageUrl: 'https://swift.example.com/v1/AUTH_test', container: 'c', object, method: 'GET', expires, key: 'k3' });
    const parsed = new URL(url);
    assert.equal(parsed.pathname, '/v1/AUTH_test/c/p/files/a%20b%3Fc%23d%25e%2Bf/%C3%BC%E6%97%A5');
    // Nothing of the name leaked into the query or a fragment.
    assert.equal(parsed.hash, '');
    assert.deepEqual([...parsed.searchParams.keys()], ['temp_url_sig', 'temp_url_expires']);
    assert.equal(parsed.searchParams.get('temp_url_sig'), expectedSignature('k3', 'GET', expires, `/v1/AUTH_test/c/${object}`));
  });

  it('accessKey and tenantId give the HP Cloud form tenant:access:signature', () => {
    const url = new URL(
      tempUrl({
        storageUrl: 'https://swift.example.com/v1/AUTH_test',
        container: 'c',
        object: 'o',
        method: 'GET',
        expires,
        key: 'k4',
        accessKey: 'AK',
        tenantId: 'T1',
      }),
    );
    assert.equal(url.searchParams.get('temp_url_sig'), `T1:AK:${expectedSignature('k4', 'GET', expires, '/v1/AUTH_test/c/o')}`);
  });
});

describe('swift: redirectURL against the local Swift', function () {
  let options: SwiftDriverOptions;
  let driver: SwiftDriver;
  const others: SwiftDriver[] = [];
  const content = bytes(64 * 1024);

  before(async function () {
    // No secretKey: the key is discovered from the account's metadata (swiftContainer sets it).
    options = await swiftContainer(this, 'tempurl');
    driver = new SwiftDriver(options);
    await driver.putContent('/blobs/small', content);
  });

  after(async () => {
    await Promise.all([driver, ...others].filter(Boolean).map((d) => d.destroy()));
    if (options) await dropContainer(options);
  });

  const another = (extra: Partial<SwiftDriverOptions>) => {
    const created = new SwiftDriver({ ...options, ...extra });
    others.push(created);
    return created;
  };

  async function fetchBytes(url: string, method = 'GET'): Promise<{ status: number; body: Buffer; length: string | null }> {
    const response = await fetch(url, { method });
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()), length: response.headers.get('content-length') };
  }

  it("a URL signed with the account's key fetches the content without a token", async () => {
    const url = await driver.redirectURL('/blobs/small');
    assert.ok(url, 'the account has a key: a URL is expected');
    assert.ok(!url.includes(TEMP_URL_KEY), 'the key itself must not appear in the URL');
    const got = await fetchBytes(url);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(content));
    const head = await fetchBytes((await driver.redirectURL('/blobs/small', { method: 'HEAD' }))!, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.length, String(content.length));
  });

  it('a large object (SLO) is served whole through its URL', async () => {
    const big = bytes(2.5 * MiB);
    const writer = await driver.writer('/blobs/big');
    await writer.write(big);
    await writer.commit();
    const got = await fetchBytes((await driver.redirectURL('/blobs/big'))!);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(big));
  });

  it('an expired URL gets 401', async () => {
    const url = await driver.redirectURL('/blobs/small', { expiresIn: 1 });
    await sleep(2100);
    assert.equal((await fetchBytes(url!)).status, 401);
  });

  it('a method not in tempUrlMethods gets no URL', async () => {
    const getOnly = another({ tempUrlMethods: ['GET'] });
    assert.equal(await getOnly.redirectURL('/blobs/small', { method: 'HEAD' }), null);
    assert.ok(await getOnly.redirectURL('/blobs/small', { method: 'GET' }));
  });

  it('a URL signed with a wrong secretkey gets 401', async () => {
    const wrong = another({ secretKey: 'not-the-key' });
    const url = await wrong.redirectURL('/blobs/small');
    assert.ok(url);
    assert.equal((await fetchBytes(url)).status, 401);
  });

  it("tempUrlContainerKey signs with the container's own key", async () => {
    const containerKey = 'container-only-key';
    await raw(driver, { method: 'POST', container: options.container, headers: { 'x-container-meta-temp-url-key': containerKey }, ok: [204] });
    const containerKeyed = another({ tempUrlContainerKey: true });
    const url = new URL((await containerKeyed.redirectURL('/blobs/small'))!);
    // Swift accepts account and container keys alike, so check which one signed it.
    const expires = Number(url.searchParams.get('temp_url_expires'));
    const signedPath = decodeURIComponent(url.pathname);
    assert.equal(url.searchParams.get('temp_url_sig'), expectedSignature(containerKey, 'GET', expires, signedPath));
    const got = await fetchBytes(url.toString());
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(content));
  });
});
