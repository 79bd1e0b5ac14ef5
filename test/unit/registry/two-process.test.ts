import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, sha256Digest } from './helpers';
import { type RegistryProcess, startRegistryProcess, writeFilesystemConfig } from './registry-process';

describe('registry: two processes on one filesystem storage', () => {
  let work: string;
  let a: RegistryProcess | undefined;
  let b: RegistryProcess | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-two-'));
    const config = await writeFilesystemConfig(join(work, 'config.yml'), join(work, 'storage'));
    [a, b] = await Promise.all([startRegistryProcess(config), startRegistryProcess(config)]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  it('serve one upload in turn: POST on A, PATCH on A, PATCH on B, PUT on A; the digest and the blob are right', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const digest = sha256Digest(data);
    const octets = { 'Content-Type': 'application/octet-stream' };
    const post = await call(a!, 'POST', '/v2/two/proc/blobs/uploads/');
    assert.equal(post.status, 202);
    const location = post.headers.get('location')!;
    const first = 1024 * 1024;
    const second = 2 * 1024 * 1024 + 5;
    let reply = await call(a!, 'PATCH', location, { body: data.subarray(0, first), headers: { ...octets, 'Content-Range': `0-${first - 1}` } });
    assert.equal(reply.status, 202);
    reply = await call(b!, 'PATCH', location, { body: data.subarray(first, second), headers: { ...octets, 'Content-Range': `${first}-${second - 1}` } });
    assert.equal(reply.status, 202, reply.body.toString());
    assert.equal(reply.headers.get('range'), `0-${second - 1}`);
    reply = await call(a!, 'PUT', `${location}?digest=${digest}`, {
      body: data.subarray(second),
      headers: { ...octets, 'Content-Range': `${second}-${data.length - 1}` },
    });
    assert.equal(reply.status, 201, reply.body.toString());
    assert.equal(reply.headers.get('docker-content-digest'), digest);
    const hex = digest.slice('sha256:'.length);
    assert.ok((await readFile(join(work, 'storage/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'))).equals(data), 'the blob on disk');
    assert.ok((await call(b!, 'GET', `/v2/two/proc/blobs/${digest}`)).body.equals(data), 'served by B');
  });

  it('an upload started on one process is continued and finished on the other', async () => {
    const data = randomBytes(100_000);
    const post = await call(b!, 'POST', '/v2/two/proc/blobs/uploads/');
    const location = post.headers.get('location')!;
    assert.equal((await call(a!, 'PATCH', location, { body: data.subarray(0, 40_000), headers: { 'Content-Type': 'application/octet-stream' } })).status, 202);
    assert.equal((await call(b!, 'GET', location)).headers.get('range'), '0-39999');
    const reply = await call(b!, 'PUT', `${location}?digest=${sha256Digest(data)}`, {
      body: data.subarray(40_000),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(reply.status, 201, reply.body.toString());
    assert.ok((await call(a!, 'GET', `/v2/two/proc/blobs/${sha256Digest(data)}`)).body.equals(data));
  });

  it('log every request with method, path, status, bytes and ms, and stop gracefully on SIGTERM', async () => {
    assert.match(a!.output(), /info request method=PUT path=\/v2\/two\/proc\/blobs\/uploads\/[0-9a-f-]{36} status=201 bytes=\d+ received=\d+ ms=\d+/);
    assert.match(b!.output(), /info request method=PATCH path=\/v2\/two\/proc\/blobs\/uploads\/[0-9a-f-]{36} status=202 bytes=\d+ received=\d+ ms=\d+/);
    const pid = a!.pid;
    assert.equal(await a!.stop(), 0);
    a = undefined;
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  });
});
