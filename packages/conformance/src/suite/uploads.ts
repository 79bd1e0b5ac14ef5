/**
 * Resumable uploads beyond distribution's tests: resume from a new driver instance, cancel,
 * invisibility of uncommitted content, writer misuse, asWritable and purgeUploads.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MiB, ErrorCode, KiB, readAll, type StorageDriver } from '@stowage/core';
import { TestData, hashStream, sha256 } from '../data';
import type { Harness, TestContext } from './harness';
import { assertBytesEqual, expectError, expectPathNotFound, expectStreamMatches, describeSize, sleep, testData, walkedPaths, writeData } from './helpers';

/** Writes per session in the resume tests, so each session makes several write calls. */
const WRITES_PER_SESSION = 3;

export function registerUploadTests(h: Harness): void {
  const { profile } = h;
  const noNewInstance = h.newInstanceSkipReason;

  describe('resumable uploads', () => {
    for (const chunkSize of profile.resumeChunkSizes) {
      h.test(
        `resumes from a new driver instance after close: ${WRITES_PER_SESSION} writes of ${describeSize(chunkSize)} per session, ${profile.resumeSessions} sessions, checked by sha256`,
        async (t) => {
          await resumeAcrossInstances(t, chunkSize, profile.resumeSessions);
        },
        { skip: noNewInstance },
      );
    }

    h.test('uncommitted content is invisible to stat, getContent, reader, list and walk: open, closed, resumed', async (t) => {
      const visible = t.path('visible');
      const hidden = t.path('hidden');
      const hiddenInDir = t.path('dir/hidden');
      t.deleteAfter(t.prefix);
      await t.driver.putContent(visible, testData(8).all());

      const checkInvisible = async (stage: string) => {
        for (const path of [hidden, hiddenInDir]) {
          await expectPathNotFound(t.driver.stat(path), { driver: t.driver, path, what: `${stage}: stat of an uncommitted upload` });
          await expectPathNotFound(t.driver.getContent(path), { driver: t.driver, path, what: `${stage}: getContent of an uncommitted upload` });
          await expectPathNotFound(t.driver.reader(path, 0), { driver: t.driver, path, what: `${stage}: reader of an uncommitted upload` });
        }
        const dir = t.path('dir');
        await expectPathNotFound(t.driver.stat(dir), { driver: t.driver, path: dir, what: `${stage}: stat of a directory holding only an upload` });
        await expectPathNotFound(t.driver.list(dir), { driver: t.driver, path: dir, what: `${stage}: list of a directory holding only an upload` });
        assert.deepEqual(await t.driver.list(t.prefix), [visible], `${stage}: list shows committed files only`);
        assert.deepEqual(await walkedPaths(t.driver, t.prefix), [visible], `${stage}: walk shows committed files only`);
      };

      const data = testData(100 * KiB);
      const writers = [await t.driver.writer(hidden, false), await t.driver.writer(hiddenInDir, false)];
      for (const w of writers) await writeData(w, data, 16 * KiB, 0, 50 * KiB);
      await checkInvisible('while open');
      for (const w of writers) await w.close();
      await checkInvisible('after close');

      const resumedDriver = t.options.newInstance ? await t.newInstance() : t.driver;
      const resumed = [await resumedDriver.writer(hidden, true), await resumedDriver.writer(hiddenInDir, true)];
      for (const w of resumed) {
        assert.equal(w.size, 50 * KiB, 'size on resume');
        await writeData(w, data, 16 * KiB, 50 * KiB);
      }
      await checkInvisible(t.options.newInstance ? 'resumed on a new instance' : 'resumed');
      // The other instance, too, must not see what this one is writing.
      if (resumedDriver !== t.driver) {
        await expectPathNotFound(resumedDriver.stat(hidden), { driver: t.driver, path: hidden, what: 'stat through the resuming instance' });
      }

      for (const w of resumed) await w.commit();
      for (const path of [hidden, hiddenInDir]) assertBytesEqual(await t.driver.getContent(path), data.all(), `${path} after commit`);
      assert.deepEqual(await t.driver.list(t.prefix), [t.path('dir'), hidden, visible], 'list after commit');
    });

    h.test('an unfinished rewrite leaves the old content in place until commit', async (t) => {
      const path = t.path('file');
      t.deleteAfter(t.prefix);
      const oldContent = testData(64 * KiB).all();
      const newData = testData(96 * KiB);
      await t.driver.putContent(path, oldContent);

      const writer = await t.driver.writer(path, false);
      assert.equal(writer.size, 0, 'a fresh writer over committed content starts at 0');
      await writeData(writer, newData, 32 * KiB);
      assertBytesEqual(await t.driver.getContent(path), oldContent, 'getContent during the rewrite');
      assert.equal((await t.driver.stat(path)).size, oldContent.length, 'stat size during the rewrite');
      await writer.close();
      assertBytesEqual(await readAll(await t.driver.reader(path, 0)), oldContent, 'reader after closing the rewrite');

      const resumed = await t.driver.writer(path, true);
      assert.equal(resumed.size, newData.size, 'append resumes the unfinished rewrite, not the committed content');
      await resumed.commit();
      assertBytesEqual(await t.driver.getContent(path), newData.all(), 'content after committing the rewrite');
    });

    h.test('cancel of an open writer leaves nothing: stat, list, walk, append and leftovers', async (t) => {
      const sibling = t.path('sibling');
      const path = t.path('dir/upload');
      t.deleteAfter(sibling);
      await t.driver.putContent(sibling, testData(8).all());
      const writer = await t.driver.writer(path, false);
      await writeData(writer, testData(40 * KiB), 8 * KiB);
      await writer.cancel();
      await expectNoTrace(t, path, [sibling]);
    });

    h.test(
      'cancel after resuming on a new instance discards every earlier session',
      async (t) => {
        const sibling = t.path('sibling');
        const path = t.path('dir/upload');
        t.deleteAfter(sibling);
        await t.driver.putContent(sibling, testData(8).all());
        const data = testData(60 * KiB);
        const first = await t.driver.writer(path, false);
        await writeData(first, data, 10 * KiB, 0, 30 * KiB);
        await first.close();
        const other = await t.newInstance();
        const second = await other.writer(path, true);
        assert.equal(second.size, 30 * KiB, 'size on resume');
        await writeData(second, data, 10 * KiB, 30 * KiB);
        await second.cancel();
        await expectNoTrace(t, path, [sibling]);
        await expectPathNotFound(other.writer(path, true), { driver: t.driver, path, what: 'append through the other instance after cancel' });
      },
      { skip: noNewInstance },
    );

    h.test('cancel of a rewrite or an append keeps the committed content', async (t) => {
      const path = t.path('file');
      t.deleteAfter(t.prefix);
      const committed = testData(20 * KiB).all();
      await t.driver.putContent(path, committed);

      const rewrite = await t.driver.writer(path, false);
      await rewrite.write(testData(5 * KiB).all());
      await rewrite.cancel();
      assertBytesEqual(await t.driver.getContent(path), committed, 'content after cancelling a rewrite');

      const append = await t.driver.writer(path, true);
      assert.equal(append.size, committed.length, 'an append to committed content starts at its size');
      await append.write(testData(5 * KiB).all());
      await append.cancel();
      assertBytesEqual(await t.driver.getContent(path), committed, 'content after cancelling an append');
      assert.equal((await t.driver.stat(path)).size, committed.length, 'stat size after cancelling an append');
    });

    h.test('append to committed content continues from it; writer(path, false) over an upload starts fresh', async (t) => {
      const path = t.path('file');
      t.deleteAfter(t.prefix);
      const data = testData(30 * KiB);
      await t.driver.putContent(path, data.slice(0, 10 * KiB));
      const append = await t.driver.writer(path, true);
      assert.equal(append.size, 10 * KiB, 'append starts at the committed size');
      await writeData(append, data, 4 * KiB, 10 * KiB);
      await append.commit();
      assertBytesEqual(await t.driver.getContent(path), data.all(), 'content after the append');

      const upload = t.path('upload');
      const abandoned = await t.driver.writer(upload, false);
      await abandoned.write(testData(7 * KiB).all());
      await abandoned.close();
      const fresh = await t.driver.writer(upload, false);
      assert.equal(fresh.size, 0, 'writer(path, false) discards the unfinished upload');
      const content = testData(3 * KiB).all();
      await fresh.write(content);
      await fresh.commit();
      assertBytesEqual(await t.driver.getContent(upload), content, 'only the fresh upload is committed');
    });

    h.test('writer misuse fails with typed errors: write/commit after close, commit or cancel; cancel after close or commit', async (t) => {
      const path = t.path('file');
      const opts = (what: string) => ({ driver: t.driver, path, what });
      const chunk = testData(16).all();
      t.deleteAfter(t.prefix);

      const closed = await t.driver.writer(path, false);
      await closed.write(chunk);
      await closed.close();
      await closed.close(); // idempotent
      await expectError(closed.write(chunk), ErrorCode.WriterState, opts('write after close'));
      await expectError(closed.commit(), ErrorCode.WriterState, opts('commit after close'));
      await expectError(closed.cancel(), ErrorCode.WriterState, opts('cancel after close'));
      assert.equal(closed.size, chunk.length, 'failed calls do not change size');
      // Clean up the closed upload the only way left: resume it and cancel.
      await (await t.driver.writer(path, true)).cancel();

      const committed = await t.driver.writer(path, false);
      await committed.write(chunk);
      await committed.commit();
      await expectError(committed.write(chunk), ErrorCode.WriterState, opts('write after commit'));
      await expectError(committed.commit(), ErrorCode.WriterState, opts('commit after commit'));
      await expectError(committed.cancel(), ErrorCode.WriterState, opts('cancel after commit'));
      await committed.close(); // a no-op once committed
      assertBytesEqual(await t.driver.getContent(path), chunk, 'committed content survives the misuse');

      const cancelled = await t.driver.writer(path, false);
      await cancelled.write(chunk);
      await cancelled.cancel();
      await expectError(cancelled.write(chunk), ErrorCode.WriterState, opts('write after cancel'));
      await expectError(cancelled.commit(), ErrorCode.WriterState, opts('commit after cancel'));
      await cancelled.close(); // a no-op once cancelled
      assertBytesEqual(await t.driver.getContent(path), chunk, 'committed content survives a cancelled rewrite');
    });

    h.test('writer.write rejects chunks that are not Uint8Array with a typed error and writes nothing', async (t) => {
      const path = t.path('file');
      const writer = await t.driver.writer(path, false);
      try {
        const bad: unknown[] = ['text', 42, null, undefined, [1, 2, 3], { length: 1 }, new ArrayBuffer(4)];
        for (const value of bad) {
          await expectError(() => writer.write(value as Uint8Array), ErrorCode.InvalidArgument, {
            driver: t.driver,
            path,
            what: `write(${Array.isArray(value) ? 'an array' : value instanceof ArrayBuffer ? 'an ArrayBuffer' : (JSON.stringify(value) ?? 'undefined')})`,
          });
        }
        assert.equal(writer.size, 0, 'rejected chunks do not count');
      } finally {
        await writer.cancel();
      }
    });

    h.test('writer(path, true) with neither an upload nor content fails with PathNotFoundError and creates nothing', async (t) => {
      const path = t.path('dir/nothing');
      await expectPathNotFound(t.driver.writer(path, true), { driver: t.driver, path, what: 'writer(path, true) on nothing' });
      await expectPathNotFound(t.driver.stat(path), { driver: t.driver, path, what: 'stat afterwards' });
      await expectPathNotFound(t.driver.writer(path, true), { driver: t.driver, path, what: 'a second writer(path, true) on nothing' });
    });

    h.test('writer.size counts every byte written, earlier sessions included', async (t) => {
      const path = t.path('file');
      t.deleteAfter(t.prefix);
      const data = testData(10_000);
      const writer = await t.driver.writer(path, false);
      let expected = 0;
      for (const size of [1, 0, 999, 4096, 3]) {
        await writer.write(data.slice(expected, size));
        expected += size;
        assert.equal(writer.size, expected, `size after writing ${size} bytes`);
      }
      await writer.close();
      assert.equal(writer.size, expected, 'size after close');
      const resumed = await t.driver.writer(path, true);
      assert.equal(resumed.size, expected, 'size on resume');
      await writeData(resumed, data, 1000, expected);
      assert.equal(resumed.size, data.size, 'size after the second session');
      await resumed.commit();
      assert.equal(resumed.size, data.size, 'size after commit');
      assert.equal((await t.driver.stat(path)).size, data.size, 'stat size');
      assertBytesEqual(await t.driver.getContent(path), data.all(), 'content');
    });

    h.test('asWritable works with stream.pipeline, leaving the writer open, closing or committing it', async (t) => {
      t.deleteAfter(t.prefix);
      const data = new TestData(3 * MiB + 17);

      const manual = t.path('manual');
      const w1 = await t.driver.writer(manual, false);
      await pipeline(data.stream(64 * KiB), w1.asWritable());
      assert.equal(w1.size, data.size, "size after pipeline with onFinish 'none'");
      await expectPathNotFound(t.driver.stat(manual), { driver: t.driver, path: manual, what: "stat before commit with onFinish 'none'" });
      await w1.commit();
      await expectStreamMatches(await t.driver.reader(manual, 0), data, 0, "content with onFinish 'none'");

      const committed = t.path('committed');
      const w2 = await t.driver.writer(committed, false);
      await pipeline(data.stream(100_000), w2.asWritable({ onFinish: 'commit' }));
      await expectStreamMatches(await t.driver.reader(committed, 0), data, 0, "content with onFinish 'commit'");

      const closed = t.path('closed');
      const w3 = await t.driver.writer(closed, false);
      await pipeline(data.stream(1000, 0), limit(data.size / 2), w3.asWritable({ onFinish: 'close' }));
      await expectPathNotFound(t.driver.stat(closed), { driver: t.driver, path: closed, what: "stat after onFinish 'close'" });
      const w4 = await t.driver.writer(closed, true);
      const half = Math.floor(data.size / 2);
      assert.equal(w4.size, half, "size on resume after onFinish 'close'");
      await pipeline(data.stream(KiB * 7, half), w4.asWritable({ onFinish: 'commit' }));
      await expectStreamMatches(await t.driver.reader(closed, 0), data, 0, "content after onFinish 'close' and a resumed pipeline");

      // A failing source must not commit anything.
      const failing = t.path('failing');
      const w5 = await t.driver.writer(failing, false);
      const source = Readable.from(
        (async function* () {
          yield data.slice(0, 1000);
          throw new Error('source failed');
        })(),
      );
      await assert.rejects(pipeline(source, w5.asWritable({ onFinish: 'commit' })), /source failed/);
      await expectPathNotFound(t.driver.stat(failing), { driver: t.driver, path: failing, what: 'stat after a failed pipeline' });
      await w5.cancel();
    });

    const staleGap = (t: TestContext) => t.modTimeResolutionMs + 200;
    h.test('purgeUploads removes uploads last written before the cutoff, spares later ones, and counts them', async (t) => {
      const stale = [t.path('stale/one'), t.path('stale-two')];
      const fresh = t.path('fresh/upload');
      const content = testData(3 * KiB).all();
      for (const path of [...stale, fresh]) {
        const writer = await t.driver.writer(path, false);
        await writer.write(content);
        await writer.close();
      }
      await sleep(staleGap(t));
      const cutoff = new Date();
      await sleep(staleGap(t));
      // The fresh upload started before the cutoff too: what counts is its last write.
      const resumed = await t.driver.writer(fresh, true);
      await resumed.write(content);
      await resumed.close();

      // The storage may hold stale uploads of other runs, so the count is at least ours.
      const removed = await t.driver.purgeUploads(cutoff);
      assert.ok(Number.isInteger(removed) && removed >= stale.length, `purgeUploads returned ${removed}, expected at least ${stale.length}`);
      for (const path of stale) await expectPathNotFound(t.driver.writer(path, true), { driver: t.driver, path, what: 'append to a purged upload' });
      const survivor = await t.driver.writer(fresh, true);
      assert.equal(survivor.size, 2 * content.length, 'the fresh upload survives whole');
      await survivor.cancel();
      assert.equal(await t.driver.purgeUploads(cutoff), 0, 'a second purge with the same cutoff finds nothing');
      await expectError(t.driver.purgeUploads(new Date(Number.NaN)), ErrorCode.InvalidArgument, { driver: t.driver, what: 'purgeUploads(Invalid Date)' });
    });

    h.test('purgeUploads never touches committed content', async (t) => {
      const path = t.path('file');
      t.deleteAfter(t.prefix);
      const content = testData(2 * KiB).all();
      await t.driver.putContent(path, content);
      await sleep(staleGap(t));
      await t.driver.purgeUploads(new Date());
      assertBytesEqual(await t.driver.getContent(path), content, 'committed content after purgeUploads');
    });
  });
}

async function resumeAcrossInstances(t: TestContext, chunkSize: number, sessions: number): Promise<void> {
  const path = t.path('blobs/upload');
  const sibling = t.path('sibling');
  t.deleteAfter(t.prefix);
  await t.driver.putContent(sibling, testData(8).all());
  const perSession = WRITES_PER_SESSION * chunkSize;
  const data = new TestData(perSession * sessions);

  let instance: StorageDriver = t.driver;
  for (let session = 0; session < sessions; session++) {
    const start = session * perSession;
    const writer = await instance.writer(path, session > 0);
    assert.equal(writer.size, start, `session ${session + 1}: size when (re)opening`);
    await writeData(writer, data, chunkSize, start, start + perSession);
    assert.equal(writer.size, start + perSession, `session ${session + 1}: size after writing`);
    if (session === sessions - 1) {
      await writer.commit();
      break;
    }
    await writer.close();
    // Between sessions nothing is visible, from either instance.
    await expectPathNotFound(t.driver.stat(path), { driver: t.driver, path, what: `after session ${session + 1}: stat` });
    assert.deepEqual(await t.driver.list(t.prefix), [sibling], `after session ${session + 1}: list`);
    assert.deepEqual(await walkedPaths(t.driver, t.prefix), [sibling], `after session ${session + 1}: walk`);
    instance = await t.newInstance();
  }

  const reader = await t.newInstance();
  const expected = data.sha256();
  for (const [label, driver] of [
    ['a new instance', reader],
    ['the first instance', t.driver],
  ] as const) {
    assert.equal((await driver.stat(path)).size, data.size, `stat size from ${label}`);
    const read = await hashStream(await driver.reader(path, 0));
    assert.equal(read.size, data.size, `bytes read from ${label}`);
    assert.equal(read.sha256, expected, `sha256 of the content read from ${label}`);
  }
  // A read from inside the second session catches sessions stored in the wrong order.
  const offset = Math.min(data.size - 1, perSession + Math.floor(chunkSize / 2));
  const tail = await hashStream(await reader.reader(path, offset));
  assert.equal(tail.sha256, data.sha256(offset), `sha256 of the content from offset ${offset}`);
  if (data.size <= 64 * KiB) assert.equal(sha256(await reader.getContent(path)), expected, 'getContent from a new instance');
}

/** After a cancel at `path`: nothing there, the directory it was in is gone, and only `remaining` is listed. */
async function expectNoTrace(t: TestContext, path: string, remaining: string[]): Promise<void> {
  const opts = (what: string, p = path) => ({ driver: t.driver, path: p, what });
  await expectPathNotFound(t.driver.stat(path), opts('stat after cancel'));
  await expectPathNotFound(t.driver.getContent(path), opts('getContent after cancel'));
  const dir = path.slice(0, path.lastIndexOf('/'));
  if (dir !== t.prefix) {
    await expectPathNotFound(t.driver.stat(dir), opts('stat of the upload directory after cancel', dir));
    await expectPathNotFound(t.driver.list(dir), opts('list of the upload directory after cancel', dir));
  }
  assert.deepEqual(await t.driver.list(t.prefix), remaining, 'list after cancel');
  assert.deepEqual(await walkedPaths(t.driver, t.prefix), remaining, 'walk after cancel');
  await expectPathNotFound(t.driver.writer(path, true), opts('append after cancel'));
  assert.deepEqual(await t.leftovers(), [], "the driver's leftovers hook after cancel");
}

/** A pass-through that ends the stream after `bytes` bytes. */
function limit(bytes: number): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  const max = Math.floor(bytes);
  return async function* (source) {
    let left = max;
    for await (const chunk of source) {
      if (left <= 0) break;
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      yield part;
    }
  };
}
