import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as bench from '@stowage/conformance/bench';
import type { Baseline } from '../../../packages/conformance/dist/bench';

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const isNotFound = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ERR_PATH_NOT_FOUND';
};

/** What every baseline must do for the benchmarks to measure the same work as the driver. */
function baselineContract(make: () => Promise<{ baseline: Baseline; done: () => Promise<void> }>) {
  let baseline: Baseline;
  let done: () => Promise<void>;
  beforeEach(async () => {
    ({ baseline, done } = await make());
    await baseline.setup?.();
  });
  afterEach(async () => {
    await baseline.teardown?.();
    await done();
  });

  it('puts and gets content, creating parents, and hands out a copy', async () => {
    const content = Buffer.from('hello world');
    await baseline.put('/a/b/c', content);
    content[0] = 0x48;
    const got = await baseline.get('/a/b/c');
    assert.equal(Buffer.from(got).toString(), 'hello world');
    await baseline.put('/a/b/c', Buffer.alloc(0));
    assert.equal((await baseline.get('/a/b/c')).byteLength, 0);
    await assert.rejects(baseline.get('/a/b/missing'), isNotFound);
  });

  it('streams content in and out in order', async () => {
    const chunks = [Buffer.from('one-'), Buffer.from('two-'), Buffer.from('three')];
    await baseline.streamWrite('/s/f', chunks);
    assert.equal((await readAll(await baseline.streamRead('/s/f'))).toString(), 'one-two-three');
    await baseline.streamWrite('/s/empty', []);
    assert.equal((await readAll(await baseline.streamRead('/s/empty'))).length, 0);
    await assert.rejects(baseline.streamRead('/s/missing'), isNotFound);
  });

  it('lists direct children as sorted full keys', async () => {
    for (const key of ['/l/b', '/l/a', '/l/c/d', '/l-x/e']) await baseline.put(key, Buffer.from('x'));
    assert.deepEqual(await baseline.list('/l'), ['/l/a', '/l/b', '/l/c']);
    assert.deepEqual(await baseline.list('/'), ['/l', '/l-x']);
    await assert.rejects(baseline.list('/nope'), isNotFound);
  });

  it('deletes a subtree and only that subtree', async () => {
    for (const key of ['/d/x/1', '/d/x/2', '/d/xy', '/d/y/3']) await baseline.put(key, Buffer.from('x'));
    await baseline.delete('/d/x');
    assert.deepEqual(await baseline.list('/d'), ['/d/xy', '/d/y']);
    await baseline.delete('/d/y/3');
    assert.equal(Buffer.from(await baseline.get('/d/xy')).toString(), 'x');
    await assert.rejects(baseline.delete('/d/x'), isNotFound);
  });
}

describe('bench: bufferBaseline', () => {
  baselineContract(async () => ({ baseline: bench.bufferBaseline(), done: async () => undefined }));

  it('drops directories with their last file, as the drivers do', async () => {
    const baseline = bench.bufferBaseline();
    await baseline.put('/p/q/r', Buffer.from('x'));
    await baseline.delete('/p/q/r');
    assert.deepEqual(await baseline.list('/'), []);
    await assert.rejects(baseline.list('/p'), isNotFound);
  });
});

for (const durable of [false, true]) {
  describe(`bench: nodeFsBaseline${durable ? ' (durable)' : ''}`, () => {
    let dir = '';
    baselineContract(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stowage-bench-test-'));
      const root = path.join(dir, 'root');
      return { baseline: bench.nodeFsBaseline(root, { durable }), done: () => fs.rm(dir, { recursive: true, force: true }) };
    });

    it('maps keys to files under its directory, leaves no temp files, and teardown removes it all', async () => {
      const root = path.join(dir, 'root2');
      const baseline = bench.nodeFsBaseline(root, { durable });
      await baseline.setup!();
      await baseline.put('/k/v', Buffer.from('put'));
      await baseline.streamWrite('/k/w', [Buffer.from('str'), Buffer.from('eam')]);
      assert.equal(await fs.readFile(path.join(root, 'k', 'v'), 'utf8'), 'put');
      assert.equal(await fs.readFile(path.join(root, 'k', 'w'), 'utf8'), 'stream');
      assert.deepEqual((await fs.readdir(path.join(root, 'k'))).sort(), ['v', 'w']);
      await baseline.teardown!();
      await assert.rejects(fs.stat(root), isNotFound);
    });
  });
}
