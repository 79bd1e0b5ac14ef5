import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MiB, readAll } from '@stowage/core';
import { InMemoryDriver, type MemoryStore } from '@stowage/inmemory';

/** The writer's slabs grow 1, 1, 2, 4, 8, 8... MiB for 1 MiB writes (writer.ts, MAX_SLAB = 8 MiB). */
const SLAB_BOUNDARIES = [1, 2, 4, 8, 16, 24].map((n) => n * MiB);

async function writeInChunks(driver: InMemoryDriver, path: string, content: Buffer, chunk: number, append = false): Promise<void> {
  const writer = await driver.writer(path, append);
  for (let at = 0; at < content.length; at += chunk) await writer.write(content.subarray(at, at + chunk));
  await writer.commit();
}

async function chunksOf(driver: InMemoryDriver, path: string, offset = 0): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of await driver.reader(path, offset)) chunks.push(chunk as Buffer);
  return chunks;
}

/** The ArrayBuffers behind a committed file's chunks (the store's internals, read for the test only). */
function buffersOf(store: MemoryStore, name: string): Set<ArrayBufferLike> {
  const node = store.root.children.get(name);
  assert.ok(node && node.kind === 'file', `/${name} is a file`);
  return new Set(node.chunks.map((chunk) => chunk.buffer));
}

function shared(a: Set<ArrayBufferLike>, b: Set<ArrayBufferLike>): number {
  return [...a].filter((buffer) => b.has(buffer)).length;
}

describe('inmemory: stored content (slabs) and readers', () => {
  const content = randomBytes(26 * MiB + 12345);

  it('a reader hands out copies: changing what it read changes neither stored content nor a later read', async () => {
    const driver = new InMemoryDriver();
    await writeInChunks(driver, '/f', content, MiB);
    const first = await chunksOf(driver, '/f');
    for (const chunk of first) chunk.fill(0);
    assert.ok(Buffer.concat(await chunksOf(driver, '/f')).equals(content), 'a second read');
    assert.ok((await driver.getContent('/f')).equals(content), 'getContent');
  });

  it('a buffer changed after write() resolved, or after putContent, changes nothing stored', async () => {
    const driver = new InMemoryDriver();
    const writer = await driver.writer('/w', false);
    const reused = Buffer.alloc(3 * MiB);
    const expected: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      // One buffer filled anew for every write, as a caller reusing its buffer does.
      content.copy(reused, 0, i * reused.length);
      await writer.write(reused);
      expected.push(Buffer.from(reused));
    }
    reused.fill(7);
    await writer.commit();
    assert.ok((await readAll(await driver.reader('/w'))).equals(Buffer.concat(expected)));

    const put = Buffer.from(content.subarray(0, 5000));
    await driver.putContent('/p', put);
    put.fill(1);
    assert.ok((await driver.getContent('/p')).equals(content.subarray(0, 5000)));
  });

  it('reads from any offset: inside, at and around slab boundaries, at and past the end', async () => {
    const driver = new InMemoryDriver();
    // 1 MiB writes (slab boundaries on MiB multiples) and odd writes (boundaries inside writes).
    for (const [path, chunk] of [
      ['/even', MiB],
      ['/odd', 300_007],
    ] as const) {
      await writeInChunks(driver, path, content, chunk);
      const offsets = [
        0,
        1,
        ...SLAB_BOUNDARIES.flatMap((b) => [b - 1, b, b + 1]),
        chunk - 1,
        chunk,
        chunk + 1,
        content.length - 1,
        content.length,
        content.length + 5,
      ];
      for (const offset of offsets) {
        const chunks = await chunksOf(driver, path, offset);
        const got = Buffer.concat(chunks);
        assert.ok(got.equals(content.subarray(Math.min(offset, content.length))), `${path} from ${offset}: ${got.length} bytes`);
        assert.ok(
          chunks.every((c) => c.length > 0 && c.length <= MiB),
          `${path} from ${offset}: chunks of 1..1 MiB bytes`,
        );
      }
    }
  });

  it('small and empty files, written in pieces, read back whole', async () => {
    const driver = new InMemoryDriver();
    await writeInChunks(driver, '/tiny', content.subarray(0, 10), 3);
    assert.deepEqual(await driver.getContent('/tiny'), content.subarray(0, 10));
    assert.deepEqual(Buffer.concat(await chunksOf(driver, '/tiny', 4)), content.subarray(4, 10));
    await writeInChunks(driver, '/empty', Buffer.alloc(0), 1);
    assert.deepEqual(await chunksOf(driver, '/empty'), []);
    await driver.putContent('/empty-put', Buffer.alloc(0));
    assert.deepEqual(await chunksOf(driver, '/empty-put'), []);
  });

  it('appending to committed content never changes it: readers and the committed file keep their bytes', async () => {
    const driver = new InMemoryDriver();
    const base = content.subarray(0, 5 * MiB + 3);
    await writeInChunks(driver, '/a', base, MiB);
    const reader = await driver.reader('/a');
    // Two appends: the second resumes the first's staged upload (its 1 MiB included) and fences it.
    const fenced = await driver.writer('/a', true);
    await fenced.write(Buffer.alloc(MiB, 1));
    const current = await driver.writer('/a', true);
    await current.write(Buffer.alloc(MiB + 5, 2));
    await assert.rejects(fenced.write(Buffer.alloc(10, 3)));
    assert.ok((await driver.getContent('/a')).equals(base), 'the committed file before the append commits');
    await current.commit();
    assert.ok((await readAll(reader)).equals(base), 'a reader opened before the append');
    assert.ok((await driver.getContent('/a')).equals(Buffer.concat([base, Buffer.alloc(MiB, 1), Buffer.alloc(MiB + 5, 2)])), 'the appended file');

    // A staged upload resumed by a new writer continues after what the first one wrote.
    const first = await driver.writer('/s', false);
    await first.write(content.subarray(0, 100));
    await first.close();
    const resumed = await driver.writer('/s', true);
    await resumed.write(content.subarray(100, 2 * MiB));
    await resumed.commit();
    assert.ok((await driver.getContent('/s')).equals(content.subarray(0, 2 * MiB)));
  });

  it('a reader streams the snapshot it opened, even when the file is replaced or deleted meanwhile', async () => {
    const driver = new InMemoryDriver();
    await writeInChunks(driver, '/r', content, MiB);
    const stream = await driver.reader('/r', 10);
    await driver.putContent('/r', Buffer.from('replaced'));
    const later = await driver.reader('/r');
    await driver.delete('/r');
    assert.ok((await readAll(stream)).equals(content.subarray(10)));
    assert.equal((await readAll(later)).toString(), 'replaced');
  });

  describe('slabs of dropped files are reused', () => {
    const other = randomBytes(24 * MiB);

    it('by the next big write once a file is deleted, replaced by putContent or by a move', async () => {
      const driver = new InMemoryDriver();
      for (const drop of [
        (path: string) => driver.delete(path),
        (path: string) => driver.putContent(path, Buffer.from('x')),
        (path: string) => driver.move('/m', path),
      ]) {
        await writeInChunks(driver, '/a', content, MiB);
        const old = buffersOf(driver.store, 'a');
        await driver.putContent('/m', Buffer.from('moved'));
        await drop('/a');
        await writeInChunks(driver, '/b', other, MiB);
        // Both files are written in 1 MiB writes: slabs of 1, 1, 2, 4, 8 and 8 MiB, so two full 8 MiB ones.
        assert.equal(shared(old, buffersOf(driver.store, 'b')), 2);
        assert.ok((await driver.getContent('/b')).equals(other));
        await driver.delete('/b');
      }
    });

    it('by the next big write once a file moved into a directory goes with the directory, and only the first time', async () => {
      const driver = new InMemoryDriver();
      await writeInChunks(driver, '/a', content, MiB);
      const old = buffersOf(driver.store, 'a');
      await driver.putContent('/dir/small', Buffer.from('small'));
      await driver.move('/a', '/dir/big');
      await driver.delete('/dir');
      await writeInChunks(driver, '/b', other, MiB);
      assert.equal(shared(old, buffersOf(driver.store, 'b')), 2, 'the moved file gave its two full slabs back');
      // Nothing owns slabs but /b: a delete of a tree without it frees nothing, and /b keeps its bytes.
      await driver.putContent('/dir2/small', Buffer.from('small'));
      await driver.delete('/dir2');
      await writeInChunks(driver, '/c', content, MiB);
      assert.equal(shared(buffersOf(driver.store, 'b'), buffersOf(driver.store, 'c')), 0);
      assert.ok((await driver.getContent('/b')).equals(other));
      assert.ok((await driver.getContent('/c')).equals(content));
    });

    it('not while a reader still copies from them: it reads its own bytes, and they are reused after its last copy', async () => {
      const driver = new InMemoryDriver();
      await writeInChunks(driver, '/a', content, MiB);
      const old = buffersOf(driver.store, 'a');
      const reader = await driver.reader('/a');
      const iterator = reader[Symbol.asyncIterator]();
      const first = (await iterator.next()).value as Buffer;
      await driver.delete('/a');
      await writeInChunks(driver, '/b', other, MiB);
      assert.equal(shared(old, buffersOf(driver.store, 'b')), 0, 'nothing reused while the reader is open');
      const rest: Buffer[] = [first];
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value as Buffer);
      assert.ok(Buffer.concat(rest).equals(content), 'the reader got the deleted file whole');
      await writeInChunks(driver, '/c', other, MiB);
      assert.equal(shared(old, buffersOf(driver.store, 'c')), 2, 'reused once the reader is done');
      assert.ok((await driver.getContent('/b')).equals(other));
      assert.ok((await driver.getContent('/c')).equals(other));
    });

    it('nor after a destroyed reader lets go, when other content shares them', async () => {
      const driver = new InMemoryDriver();
      await writeInChunks(driver, '/a', content, MiB);
      const old = buffersOf(driver.store, 'a');
      const reader = await driver.reader('/a');
      reader.destroy();
      // An append shares the committed chunks: replacing the file must not free them for reuse.
      const appending = await driver.writer('/a', true);
      await appending.write(Buffer.from('tail'));
      await driver.putContent('/a', Buffer.from('replaced'));
      await writeInChunks(driver, '/b', other, MiB);
      assert.equal(shared(old, buffersOf(driver.store, 'b')), 0);
      await appending.commit();
      assert.ok((await driver.getContent('/a')).equals(Buffer.concat([content, Buffer.from('tail')])));
      // The appended file shares slabs with the one it continued: dropping it frees nothing either.
      await driver.delete('/a');
      await writeInChunks(driver, '/c', other, MiB);
      assert.equal(shared(old, buffersOf(driver.store, 'c')), 0);
    });
  });
});
