import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createDriver } from '@stowage/core';
import { assertError, call, describeRegistry, pushBlob, sha256Digest, snapshot, startTestRegistry } from './helpers';

describeRegistry('base and blobs', (registry) => {
  const data = randomBytes(100_000);
  let digest: string;

  before(async () => {
    digest = await pushBlob(registry(), 'blobs/a', data);
  });

  it('GET /v2/ answers 200 with the API version header', async () => {
    const reply = await call(registry(), 'GET', '/v2/');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  it('HEAD gives the size and digest without a body', async () => {
    const reply = await call(registry(), 'HEAD', `/v2/blobs/a/blobs/${digest}`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-length'), String(data.length));
    assert.equal(reply.headers.get('docker-content-digest'), digest);
    assert.equal(reply.body.length, 0);
  });

  it('GET returns the bytes', async () => {
    const reply = await call(registry(), 'GET', `/v2/blobs/a/blobs/${digest}`);
    assert.equal(reply.status, 200);
    assert.ok(reply.body.equals(data));
    assert.equal(reply.headers.get('content-type'), 'application/octet-stream');
  });

  it('GET with Range returns 206 and exactly the range (start-end, start-, suffix)', async () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=10-19', 10, 19],
      ['bytes=99990-', 99990, 99999],
      ['bytes=-5', 99995, 99999],
      ['bytes=99999-200000', 99999, 99999],
    ];
    for (const [range, start, end] of cases) {
      const reply = await call(registry(), 'GET', `/v2/blobs/a/blobs/${digest}`, { headers: { Range: range } });
      assert.equal(reply.status, 206, range);
      assert.equal(reply.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
      assert.ok(reply.body.equals(data.subarray(start, end + 1)), range);
    }
  });

  it('GET with an unsatisfiable Range is 416 with Content-Range bytes */size', async () => {
    const reply = await call(registry(), 'GET', `/v2/blobs/a/blobs/${digest}`, { headers: { Range: `bytes=${data.length}-` } });
    assert.equal(reply.status, 416);
    assert.equal(reply.headers.get('content-range'), `bytes */${data.length}`);
  });

  it('an unknown blob, or a blob of another repository, is BLOB_UNKNOWN', async () => {
    assertError(await call(registry(), 'GET', `/v2/blobs/a/blobs/${sha256Digest(Buffer.from('nope'))}`), 404, 'BLOB_UNKNOWN');
    assertError(await call(registry(), 'GET', `/v2/blobs/other/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    assert.equal((await call(registry(), 'HEAD', `/v2/blobs/other/blobs/${digest}`)).status, 404);
  });

  it('a malformed digest is DIGEST_INVALID and another algorithm UNSUPPORTED', async () => {
    assertError(await call(registry(), 'GET', '/v2/blobs/a/blobs/sha256:abc'), 400, 'DIGEST_INVALID');
    assertError(await call(registry(), 'GET', `/v2/blobs/a/blobs/sha512:${'a'.repeat(128)}`), 400, 'UNSUPPORTED');
  });

  it('DELETE unlinks the blob from the repository (202), then it is unknown there', async () => {
    const other = await pushBlob(registry(), 'blobs/b', randomBytes(10));
    await pushBlob(registry(), 'blobs/c', (await call(registry(), 'GET', `/v2/blobs/b/blobs/${other}`)).body);
    assert.equal((await call(registry(), 'DELETE', `/v2/blobs/b/blobs/${other}`)).status, 202);
    assertError(await call(registry(), 'GET', `/v2/blobs/b/blobs/${other}`), 404, 'BLOB_UNKNOWN');
    assert.equal((await call(registry(), 'HEAD', `/v2/blobs/c/blobs/${other}`)).status, 200, 'still in the other repository');
    assertError(await call(registry(), 'DELETE', `/v2/blobs/b/blobs/${other}`), 404, 'BLOB_UNKNOWN');
  });

  it('an unknown method on a known route is 405', async () => {
    assert.equal((await call(registry(), 'POST', `/v2/blobs/a/blobs/${digest}`)).status, 405);
  });
});

describe('registry blob redirects and disabled deletes', () => {
  const data = Buffer.from('redirect me');

  it("GET answers 307 to the driver's URL unless redirect.disable is set", async () => {
    const driver = createDriver('inmemory', {});
    driver.redirectURL = async (path) => `https://storage.example/${path.slice(1)}?signed=1`;
    const registry = await startTestRegistry('inmemory', { driver });
    try {
      const digest = await pushBlob(registry, 'r/a', data);
      const reply = await call(registry, 'GET', `/v2/r/a/blobs/${digest}`);
      assert.equal(reply.status, 307);
      assert.match(reply.headers.get('location')!, /^https:\/\/storage\.example\/docker\/registry\/v2\/blobs\/sha256\/..\/[0-9a-f]{64}\/data\?signed=1$/);
      assert.equal((await call(registry, 'HEAD', `/v2/r/a/blobs/${digest}`)).status, 200, 'HEAD is answered here');
    } finally {
      await registry.close();
    }
    const disabled = await startTestRegistry('inmemory', { driver, redirectDisable: true });
    try {
      const reply = await call(disabled, 'GET', `/v2/r/a/blobs/${sha256Digest(data)}`);
      assert.equal(reply.status, 200);
      assert.ok(reply.body.equals(data));
    } finally {
      await disabled.close();
    }
  });

  it("config.yml's middleware.storage wraps the driver in order: redirect gives the CDN URL, rewrite (from @stowage/middleware) then moves its host", async () => {
    const middleware = [
      'middleware:',
      '  storage:',
      '    - name: redirect',
      '      options:',
      '        baseurl: https://cdn.example/mirror',
      '    - name: rewrite',
      '      options:',
      '        host: edge.example:8443',
    ].join('\n');
    const registry = await startTestRegistry('filesystem', { extraYaml: middleware });
    try {
      const digest = await pushBlob(registry, 'r/a', data);
      const reply = await call(registry, 'GET', `/v2/r/a/blobs/${digest}`);
      assert.equal(reply.status, 307);
      assert.equal(
        reply.headers.get('location'),
        `https://edge.example:8443/mirror/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`,
      );
    } finally {
      await registry.close();
    }
    await assert.rejects(
      startTestRegistry('inmemory', { extraYaml: 'middleware:\n  storage:\n    - name: nosuch\n' }),
      /nosuch.*no storage middleware registered/,
    );
  });

  it('DELETE of blobs and manifests is 405 UNSUPPORTED when delete is not enabled, and changes nothing', async () => {
    const registry = await startTestRegistry('inmemory', { deleteEnabled: false });
    try {
      const digest = await pushBlob(registry, 'r/a', data);
      const before = await snapshot(registry.driver);
      assertError(await call(registry, 'DELETE', `/v2/r/a/blobs/${digest}`), 405, 'UNSUPPORTED');
      assertError(await call(registry, 'DELETE', '/v2/r/a/manifests/latest'), 405, 'UNSUPPORTED');
      assert.deepEqual(await snapshot(registry.driver), before);
    } finally {
      await registry.close();
    }
  });
});
