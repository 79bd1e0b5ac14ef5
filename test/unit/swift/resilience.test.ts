import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isStorageDriverError } from '@stowage/core';
import { SwiftDriver, SwiftHttpError, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';

/**
 * A fault-injecting proxy in front of the real Swift: `fail(n, method, match, how)` makes the next
 * n requests of that method whose path contains `match` fail (503 from the proxy, or a socket destroyed before any answer);
 * everything else is passed through, so the retried request is served by Swift itself.
 */
async function startFaultProxy(target: string) {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const faults: Array<{ method: string; match: string; how: '503' | 'reset' }> = [];
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const fault = faults.findIndex((f) => req.method === f.method && req.url?.includes(f.match));
    if (fault >= 0) {
      const { how } = faults.splice(fault, 1)[0]!;
      req.resume();
      if (how === 'reset') req.socket.destroy();
      else res.writeHead(503, { 'content-type': 'text/plain' }).end('injected 503');
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    fail(count: number, method: string, match: string, how: '503' | 'reset') {
      for (let i = 0; i < count; i++) faults.push({ method, match, how });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}

describe('swift: retries and listing pages', function () {
  let options: SwiftDriverOptions;
  let proxy: Awaited<ReturnType<typeof startFaultProxy>>;
  const drivers: SwiftDriver[] = [];

  before(async function () {
    const { service, ...rest } = await swiftContainer(this, 'resilience');
    options = rest;
    proxy = await startFaultProxy(service.endpoint);
  });

  after(async () => {
    await Promise.all(drivers.map((d) => d.destroy()));
    if (options) await dropContainer(options);
    await proxy?.close();
  });

  /** A driver whose requests all go through the proxy: v1 auth there returns Swift's storage URL, rewritten to the proxy. */
  function proxiedDriver(extra: Partial<SwiftDriverOptions> = {}): SwiftDriver {
    const driver = new SwiftDriver({ ...options, authUrl: `${proxy.url}/auth/v1.0`, ...extra });
    const session = swiftDriverInternals(driver).client.session;
    const credentials = session.credentials.bind(session);
    // tempauth answers with its own host in X-Storage-Url; send the account's requests via the proxy too.
    session.credentials = async (signal) => {
      const got = await credentials(signal);
      return { ...got, storageUrl: got.storageUrl.replace(/^http:\/\/[^/]+/, proxy.url) };
    };
    drivers.push(driver);
    return driver;
  }

  it('retries 503 answers and reset connections, and the content arrives once and whole', async () => {
    const driver = proxiedDriver();
    await driver.putContent('/r/seed', Buffer.from('seed'));
    proxy.fail(2, 'PUT', '/r/file', '503');
    proxy.fail(1, 'PUT', '/r/file', 'reset');
    const before = proxy.seen.filter((line) => line.startsWith('PUT') && line.includes('/r/file')).length;
    await driver.putContent('/r/file', Buffer.from('content after three failures'));
    const puts = proxy.seen.filter((line) => line.startsWith('PUT') && line.includes('/r/file')).length - before;
    assert.equal(puts, 4, 'three failed attempts and the one that worked');
    assert.equal((await driver.getContent('/r/file')).toString(), 'content after three failures');
    proxy.fail(2, 'GET', '/r/file', 'reset');
    assert.equal((await driver.getContent('/r/file')).toString(), 'content after three failures', 'reads are retried too');
  });

  it("retries its authentication after a reset connection and a 503, so a new driver's first call survives them", async () => {
    proxy.fail(1, 'GET', '/auth/v1.0', 'reset');
    proxy.fail(1, 'GET', '/auth/v1.0', '503');
    const before = proxy.seen.filter((line) => line.includes('/auth/v1.0')).length;
    await proxiedDriver().putContent('/r/auth-retried', Buffer.from('x'));
    assert.equal(proxy.seen.filter((line) => line.includes('/auth/v1.0')).length - before, 3, 'two failed authentications and the one that worked');
    proxy.fail(1, 'GET', '/auth/v1.0', 'reset');
    await assert.rejects(proxiedDriver({ maxAttempts: 1 }).stat('/r/auth-retried'), isStorageDriverError);
  });

  it('gives up after maxAttempts with the last answer as cause', async () => {
    const driver = proxiedDriver({ maxAttempts: 2 });
    await driver.putContent('/r/limit', Buffer.from('x'));
    proxy.fail(2, 'GET', '/r/limit', '503');
    await assert.rejects(driver.getContent('/r/limit'), (err: unknown) => {
      assert.ok(isStorageDriverError(err), String(err));
      assert.ok(err.cause instanceof SwiftHttpError && err.cause.status === 503, String(err.cause));
      assert.equal(err.path, '/r/limit');
      return true;
    });
  });

  it('follows listing markers across pages, with and without a delimiter', async () => {
    const driver = new SwiftDriver(options);
    drivers.push(driver);
    const names = Array.from({ length: 23 }, (_, i) => `/p/f${String(i).padStart(2, '0')}`);
    const dirs = Array.from({ length: 7 }, (_, i) => `/p/d${i}/x`);
    await Promise.all([...names, ...dirs].map((path) => driver.putContent(path, Buffer.from(path))));
    const flat: string[] = [];
    for await (const object of swiftDriverInternals(driver).container.listAll(driver.layout.dirPrefix('/p'), { pageSize: 5 })) flat.push(object.name);
    assert.deepEqual(flat, [...dirs, ...names].map((p) => driver.layout.objectName(p)).sort());
    let pages = 0;
    const children: string[] = [];
    for await (const page of swiftDriverInternals(driver).container.list(driver.layout.dirPrefix('/p'), { delimiter: '/', pageSize: 4 })) {
      pages++;
      children.push(...page.objects.map((o) => o.name), ...page.prefixes);
    }
    assert.equal(pages, 8, '30 entries (23 files, 7 prefixes) in pages of 4');
    assert.equal(children.length, 30);
    assert.equal(new Set(children).size, 30, 'no entry twice across page boundaries');
    await driver.delete('/p');
  });
});
