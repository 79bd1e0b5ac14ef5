/**
 * How an upload's digest is known at its closing PUT (performance behaviour measured by
 * `npm run bench:registry`): the running sha256 stays in the process between the upload's
 * requests, so a PUT after PATCHes served here reads nothing back; a PUT after bytes stored by
 * another process reads back exactly those bytes; and bodies reach the driver in 1 MiB writes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DriverDecorator, type FileWriter, type OpOptions, type StorageDriver } from '@stowage/core';
import { parseConfig, type RunningRegistry, startRegistry } from '@stowage/example-registry';
import { InMemoryDriver } from '@stowage/inmemory';

const MiB = 1024 * 1024;

/** Records every reader opened below `_uploads` and the size of every write. */
class RecordingDriver extends DriverDecorator {
  readonly uploadReads: Array<{ path: string; offset: number }> = [];
  readonly writeSizes: number[] = [];

  constructor(inner: StorageDriver) {
    super(inner);
  }

  override reader(path: string, offset = 0, opts?: OpOptions): Promise<Readable> {
    if (path.includes('/_uploads/')) this.uploadReads.push({ path, offset });
    return super.reader(path, offset, opts);
  }

  override async writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter> {
    const writer = await super.writer(path, append, opts);
    const sizes = this.writeSizes;
    return new Proxy(writer, {
      get(target, property) {
        if (property === 'write') {
          return (chunk: Uint8Array) => {
            sizes.push(chunk.length);
            return target.write(chunk);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}

const CONFIG = [
  'version: 0.1',
  'log:',
  '  level: error',
  'storage:',
  '  inmemory: {}',
  '  maintenance:',
  '    uploadpurging:',
  '      enabled: false',
  'http:',
  '  addr: 127.0.0.1:0',
  '',
].join('\n');

async function call(registry: RunningRegistry, method: string, path: string, body?: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(new URL(path, registry.url), {
    method,
    body,
    headers: body ? { 'Content-Type': 'application/octet-stream', ...headers } : headers,
  });
  await response.arrayBuffer();
  return response;
}

const digestOf = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('registry: the upload digest stays in the process between requests', () => {
  let driver: RecordingDriver;
  let a: RunningRegistry;
  let b: RunningRegistry;

  beforeEach(async () => {
    driver = new RecordingDriver(new InMemoryDriver());
    // Two registries on one storage, as two processes would be.
    a = await startRegistry(parseConfig(CONFIG), { driver });
    b = await startRegistry(parseConfig(CONFIG), { driver });
  });

  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('POST, PATCH, PATCH, PUT on one registry: the PUT reads nothing back', async () => {
    const data = randomBytes(3 * MiB + 17);
    const post = await call(a, 'POST', '/v2/digest/same/blobs/uploads/');
    assert.equal(post.status, 202);
    const location = post.headers.get('location')!;
    const split = 2 * MiB + 5;
    assert.equal((await call(a, 'PATCH', location, data.subarray(0, split))).status, 202);
    assert.equal((await call(a, 'PATCH', location, data.subarray(split), { 'Content-Range': `${split}-${data.length - 1}` })).status, 202);
    const put = await call(a, 'PUT', `${location}?digest=${digestOf(data)}`);
    assert.equal(put.status, 201);
    assert.deepEqual(driver.uploadReads, []);
    const blob = await fetch(new URL(`/v2/digest/same/blobs/${digestOf(data)}`, a.url));
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(data));
  });

  it('a PATCH body reaches the driver in writes of 1 MiB (the last one shorter)', async () => {
    const data = randomBytes(3 * MiB + 17);
    const location = (await call(a, 'POST', '/v2/digest/batch/blobs/uploads/')).headers.get('location')!;
    driver.writeSizes.length = 0;
    assert.equal((await call(a, 'PATCH', location, data)).status, 202);
    const sizes = driver.writeSizes;
    assert.equal(
      sizes.reduce((sum, n) => sum + n, 0),
      data.length,
    );
    assert.ok(sizes.length <= 4, `${sizes.length} writes: ${sizes.join(', ')}`);
    sizes.slice(0, -1).forEach((n) => assert.ok(n >= MiB, `a write of ${n} bytes before the last`));
  });

  it('bytes another registry stored are read back once at PUT, from where this registry stopped', async () => {
    const data = randomBytes(3 * MiB + 17);
    const location = (await call(a, 'POST', '/v2/digest/two/blobs/uploads/')).headers.get('location')!;
    const first = MiB + 3;
    const second = 2 * MiB + 11;
    assert.equal((await call(a, 'PATCH', location, data.subarray(0, first))).status, 202);
    assert.equal((await call(b, 'PATCH', location, data.subarray(first, second), { 'Content-Range': `${first}-${second - 1}` })).status, 202);
    const put = await call(a, 'PUT', `${location}?digest=${digestOf(data)}`, data.subarray(second), { 'Content-Range': `${second}-${data.length - 1}` });
    assert.equal(put.status, 201);
    assert.equal(driver.uploadReads.length, 1, JSON.stringify(driver.uploadReads));
    assert.equal(driver.uploadReads[0]!.offset, first);
    const blob = await fetch(new URL(`/v2/digest/two/blobs/${digestOf(data)}`, b.url));
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(data));
  });

  it('a wrong digest is still caught when the state lags (the upload is discarded)', async () => {
    const data = randomBytes(MiB);
    const location = (await call(a, 'POST', '/v2/digest/wrong/blobs/uploads/')).headers.get('location')!;
    assert.equal((await call(b, 'PATCH', location, data)).status, 202);
    const put = await call(a, 'PUT', `${location}?digest=${digestOf(Buffer.from('something else'))}`);
    assert.equal(put.status, 400);
    assert.equal((await call(a, 'GET', location)).status, 404);
  });
});
