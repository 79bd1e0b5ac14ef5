import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { assertError, call, describeRegistry, pushImage, sha256Digest, snapshot } from './helpers';

/** A request whose path goes out exactly as written (fetch would normalise `..`). */
function rawRequest(url: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({ host: target.hostname, port: target.port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (text: string) => (body += text));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describeRegistry('names and references', (registry) => {
  it("names outside the spec's pattern are NAME_INVALID on every endpoint, and nothing is stored", async () => {
    await pushImage(registry(), 'names/ok', 'v1');
    const before = await snapshot(registry().driver);
    const digest = sha256Digest(Buffer.from('x'));
    const names = ['Upper/case', 'a//b', '-lead', 'trail-', 'a/_layers', 'a..b', 'x'.repeat(256), 'a/.hidden', 'a%2Fb', 'a:b'];
    for (const name of names) {
      for (const [method, path] of [
        ['GET', `/v2/${name}/tags/list`],
        ['GET', `/v2/${name}/manifests/v1`],
        ['PUT', `/v2/${name}/manifests/v1`],
        ['HEAD', `/v2/${name}/blobs/${digest}`],
        ['POST', `/v2/${name}/blobs/uploads/`],
        ['GET', `/v2/${name}/referrers/${digest}`],
      ] as const) {
        const reply = await rawRequest(registry().url, method, path);
        assert.equal(reply.status, 400, `${method} ${path}`);
        if (method !== 'HEAD') assert.equal(JSON.parse(reply.body).errors[0].code, 'NAME_INVALID', `${method} ${path}`);
      }
    }
    assert.deepEqual(await snapshot(registry().driver), before);
  });

  it('traversal attempts in names, references and upload ids never reach storage', async () => {
    const before = await snapshot(registry().driver);
    const paths: Array<[string, string, number]> = [
      ['GET', '/v2/../../etc/tags/list', 400],
      ['GET', '/v2/names/ok/../../x/tags/list', 400],
      ['PUT', '/v2/names/ok/manifests/..', 400],
      ['GET', '/v2/names/ok/manifests/..%2F..%2Fcurrent', 400],
      ['GET', '/v2/names/ok/manifests/sha256:..%2F..', 400],
      ['GET', '/v2/names/ok/blobs/sha256:..%2F..%2Fdata', 400],
      ['PATCH', '/v2/names/ok/blobs/uploads/..', 404],
      ['GET', '/v2/names/ok/blobs/uploads/..%2F..%2F_layers', 404],
    ];
    for (const [method, path, status] of paths) {
      const reply = await rawRequest(registry().url, method, path);
      assert.equal(reply.status, status, `${method} ${path}: ${reply.body}`);
    }
    assert.deepEqual(await snapshot(registry().driver), before);
  });

  it('valid names with every separator work', async () => {
    for (const name of ['a', 'a0/b.c', 'a_b/c__d', 'a-b/c---d', 'x/y/z/w']) {
      await pushImage(registry(), name, 'v1');
      assert.equal((await call(registry(), 'GET', `/v2/${name}/manifests/v1`)).status, 200, name);
    }
    assertError(await call(registry(), 'GET', '/v2/a/manifests/' + 'x'.repeat(129)), 400, 'MANIFEST_INVALID');
  });

  it('paths outside the API are 404', async () => {
    assert.equal((await call(registry(), 'GET', '/')).status, 404);
    assert.equal((await call(registry(), 'GET', '/v2/a/unknown/thing')).status, 404);
  });
});
