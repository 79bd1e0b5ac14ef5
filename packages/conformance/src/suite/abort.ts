/** AbortSignal handling: aborted before, during a read, during a write, during a walk. */
import assert from 'node:assert/strict';
import { ErrorCode, MiB, type StorageDriver } from '@stowage/core';
import { TestData } from '../data';
import type { Harness } from './harness';
import { expectError, expectPathNotFound, snapshotTree, testData, walkedPaths } from './helpers';

export function registerAbortTests(h: Harness): void {
  describe('AbortSignal', () => {
    h.test('an already-aborted signal rejects every method with ERR_ABORTED and changes nothing', async (t) => {
      const keep = t.path('keep');
      const fresh = t.path('fresh');
      const moved = t.path('moved');
      t.deleteAfter(t.prefix);
      await t.driver.putContent(keep, testData(64).all());
      await t.driver.putContent(t.path('sub/keep'), testData(64).all());
      const before = await snapshotTree(t.driver, t.prefix);
      const signal = AbortSignal.abort(new Error('aborted by the test'));
      const content = testData(32).all();

      const calls: Array<[string, string | undefined, (d: StorageDriver) => Promise<unknown>]> = [
        ['getContent', keep, (d) => d.getContent(keep, { signal })],
        ['putContent (new path)', fresh, (d) => d.putContent(fresh, content, { signal })],
        ['putContent (overwrite)', keep, (d) => d.putContent(keep, content, { signal })],
        ['reader', keep, (d) => d.reader(keep, 0, { signal })],
        ['writer (fresh)', fresh, (d) => d.writer(fresh, false, { signal })],
        ['writer (append)', keep, (d) => d.writer(keep, true, { signal })],
        ['stat', keep, (d) => d.stat(keep, { signal })],
        ['list', t.prefix, (d) => d.list(t.prefix, { signal })],
        ['move', keep, (d) => d.move(keep, moved, { signal })],
        ['delete (file)', keep, (d) => d.delete(keep, { signal })],
        ['delete (directory)', t.prefix, (d) => d.delete(t.prefix, { signal })],
        ['redirectURL', keep, (d) => d.redirectURL(keep, { signal })],
        ['walk', t.prefix, (d) => d.walk(t.prefix, () => assert.fail('walk called back despite the aborted signal'), { signal })],
        ['purgeUploads', undefined, (d) => d.purgeUploads(new Date(), { signal })],
      ];
      for (const [name, path, call] of calls) {
        await expectError(() => call(t.driver), ErrorCode.Aborted, { driver: t.driver, path, what: `${name} with an aborted signal` });
      }
      assert.deepEqual(await snapshotTree(t.driver, t.prefix), before, 'the files below the prefix changed');
      await expectPathNotFound(t.driver.stat(fresh), { driver: t.driver, path: fresh, what: 'stat of the aborted putContent target' });
      await expectPathNotFound(t.driver.stat(moved), { driver: t.driver, path: moved, what: 'stat of the aborted move target' });
      await expectPathNotFound(t.driver.writer(fresh, true), { driver: t.driver, path: fresh, what: 'append at the aborted writer target' });
      assert.deepEqual(await t.leftovers(), [], "the driver's leftovers hook");
    });

    h.test('aborting mid-read destroys the stream with ERR_ABORTED', async (t) => {
      const path = t.path('file');
      t.deleteAfter(path);
      const data = new TestData(8 * MiB);
      await t.driver.putContent(path, data.all());

      const controller = new AbortController();
      const stream = await t.driver.reader(path, 0, { signal: controller.signal });
      const chunks = stream[Symbol.asyncIterator]();
      const first = await chunks.next();
      assert.ok(!first.done && (first.value as Buffer).length > 0, 'the first chunk');
      controller.abort();
      let caught: unknown;
      try {
        while (!(await chunks.next()).done) {
          // drain whatever the stream still yields until the abort lands
        }
      } catch (err) {
        caught = err;
      }
      assert.ok(caught !== undefined, 'reading on after the abort must fail, not end normally');
      await expectError(Promise.reject(caught), ErrorCode.Aborted, { driver: t.driver, path, what: 'the aborted read' });
      assert.ok(stream.destroyed, 'the aborted stream is destroyed');

      // Aborted after opening, before reading anything.
      const second = new AbortController();
      const unread = await t.driver.reader(path, 0, { signal: second.signal });
      second.abort();
      await expectError(
        (async () => {
          for await (const chunk of unread) void chunk;
        })(),
        ErrorCode.Aborted,
        { driver: t.driver, path, what: 'reading a stream aborted before its first read' },
      );
    });

    h.test("aborting a writer's signal makes later writes and commit reject; cancel still cleans up", async (t) => {
      const path = t.path('dir/upload');
      const controller = new AbortController();
      const writer = await t.driver.writer(path, false, { signal: controller.signal });
      // 11 MiB: more than one part for the multipart drivers, so the abort finds a staged upload to clean up.
      await writer.write(testData(11 * MiB).all());
      controller.abort();
      await expectError(writer.write(testData(1024).all()), ErrorCode.Aborted, { driver: t.driver, path, what: 'write after the abort' });
      await expectError(writer.commit(), ErrorCode.Aborted, { driver: t.driver, path, what: 'commit after the abort' });
      await writer.cancel();
      await expectPathNotFound(t.driver.stat(path), { driver: t.driver, path, what: 'stat after the aborted upload' });
      await expectPathNotFound(t.driver.writer(path, true), { driver: t.driver, path, what: 'append after the aborted upload was cancelled' });
    });

    h.test('aborting a walk from its callback stops it with ERR_ABORTED', async (t) => {
      t.deleteAfter(t.prefix);
      for (const name of ['a/1', 'a/2', 'b/1', 'b/2', 'c/1', 'd']) await t.driver.putContent(t.path(name), testData(8).all());
      assert.equal((await walkedPaths(t.driver, t.prefix)).length, 9, 'the tree (6 files, 3 directories) walks whole without a signal');

      const controller = new AbortController();
      let callsAfterAbort = 0;
      await expectError(
        t.driver.walk(
          t.prefix,
          (info) => {
            if (controller.signal.aborted) callsAfterAbort++;
            if (info.path === t.path('a/1')) controller.abort();
          },
          { signal: controller.signal },
        ),
        ErrorCode.Aborted,
        { driver: t.driver, what: 'the aborted walk' },
      );
      assert.equal(callsAfterAbort, 0, 'no callback after the abort');
    });
  });
}
