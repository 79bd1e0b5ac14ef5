/**
 * The contract's tightened semantics that distribution leaves open: move and delete isolation,
 * directories that exist only while they hold files, pinned walk order, modTime, error identity.
 */
import assert from 'node:assert/strict';
import { ErrorCode, KiB } from '@stowage/core';
import type { Harness, TestContext } from './harness';
import { assertBytesEqual, assertFileInfo, expectError, expectPathNotFound, sleep, testData, walked, walkedPaths } from './helpers';

export function registerSemanticsTests(h: Harness): void {
  describe('contract semantics', () => {
    // Once with a small file, once with a large one written over two sessions: drivers that store
    // large files as parts or segments must not let the destination share them with the source
    // (distribution issue #2878: deleting a moved upload's old path removed the blob's segments).
    const moveSources = [
      { label: 'a small file', write: (t: TestContext, path: string, content: Buffer) => t.driver.putContent(path, content), size: 40 * KiB },
      { label: 'a large file written in two sessions', write: writeInTwoSessions, size: Math.ceil(h.profile.appendLargeChunk * 2.4) },
    ];
    for (const moveSource of moveSources) {
      h.test(`after a move of ${moveSource.label}, deleting or rewriting the source's old paths or any other path never changes the destination`, async (t) => {
        const source = t.path('src/dir/file');
        const sourceSibling = t.path('src/dir/sibling');
        const dest = t.path('dst/file');
        const other = t.path('other/x');
        t.deleteAfter(t.prefix);
        const content = testData(moveSource.size).all();
        await moveSource.write(t, source, content);
        await t.driver.putContent(sourceSibling, testData(10).all());
        await t.driver.putContent(other, testData(10).all());

        await t.driver.move(source, dest);
        const checkDest = async (after: string) => {
          assertBytesEqual(await t.driver.getContent(dest), content, `destination content after ${after}`);
          assert.equal((await t.driver.stat(dest)).size, content.length, `destination size after ${after}`);
        };
        await checkDest('the move');
        await expectPathNotFound(t.driver.stat(source), { driver: t.driver, path: source, what: 'stat of the moved source' });

        await t.driver.putContent(source, testData(5).all());
        await checkDest('a new file at the source path');
        const writer = await t.driver.writer(source, true);
        await writer.write(testData(7).all());
        await writer.commit();
        await checkDest('an append at the source path');
        await t.driver.delete(source);
        await checkDest('deleting the source path');
        await t.driver.delete(t.path('src/dir'));
        await checkDest("deleting the source's old parent");
        await expectPathNotFound(t.driver.stat(t.path('src')), { driver: t.driver, path: t.path('src'), what: 'the emptied source tree' });
        await t.driver.delete(other);
        await checkDest('deleting an unrelated path');

        // Moving on and back again keeps content whole too.
        const again = t.path('again/file');
        await t.driver.move(dest, again);
        await t.driver.putContent(dest, testData(3).all());
        await t.driver.move(again, dest);
        await checkDest('moving away, writing the old name and moving back');
      });
    }

    h.test('stored content is a copy: changing a buffer after putContent, write or getContent changes nothing', async (t) => {
      const path = t.path('file');
      t.deleteAfter(t.prefix);
      const original = testData(4 * KiB).all();
      const given = Buffer.from(original);
      await t.driver.putContent(path, given);
      given.fill(0);
      assertBytesEqual(await t.driver.getContent(path), original, 'content after changing the buffer given to putContent');

      const returned = await t.driver.getContent(path);
      returned.fill(1);
      assertBytesEqual(await t.driver.getContent(path), original, 'content after changing a buffer getContent returned');

      const streamed = t.path('streamed');
      const writer = await t.driver.writer(streamed, false);
      const chunk = Buffer.from(original);
      await writer.write(chunk);
      chunk.fill(2); // the caller may reuse its buffer once write resolves
      await writer.write(chunk.subarray(0, 10));
      await writer.commit();
      assertBytesEqual(await t.driver.getContent(streamed), Buffer.concat([original, Buffer.alloc(10, 2)]), 'content after reusing a written chunk');
    });

    h.test('directories exist only while they hold files', async (t) => {
      const file = t.path('d/e/f');
      await t.driver.putContent(file, testData(8).all());
      assertFileInfo(await t.driver.stat(t.path('d')), { path: t.path('d'), isDir: true, size: 0 }, 'stat of an implicit directory');
      assert.deepEqual(await t.driver.list(t.path('d')), [t.path('d/e')], 'list of an implicit directory');
      await t.driver.delete(file);
      for (const dir of [t.path('d/e'), t.path('d'), t.prefix]) {
        await expectPathNotFound(t.driver.stat(dir), { driver: t.driver, path: dir, what: `stat of ${dir} after deleting its last file` });
        await expectPathNotFound(t.driver.list(dir), { driver: t.driver, path: dir, what: `list of ${dir} after deleting its last file` });
      }

      await t.driver.putContent(t.path('a/b/f'), testData(8).all());
      await t.driver.move(t.path('a/b/f'), t.path('c/f'));
      await expectPathNotFound(t.driver.stat(t.path('a')), { driver: t.driver, path: t.path('a'), what: 'stat of a directory whose last file moved away' });
      assert.deepEqual(await t.driver.list(t.prefix), [t.path('c')], 'list after moving the last file out');
      await t.driver.delete(t.path('c'));
    });

    h.test('list of a file and walk of a missing directory fail with PathNotFoundError', async (t) => {
      const file = t.path('file');
      t.deleteAfter(file);
      await t.driver.putContent(file, testData(8).all());
      await expectPathNotFound(t.driver.list(file), { driver: t.driver, path: file, what: 'list of a file' });
      const missing = t.path('missing');
      await expectPathNotFound(
        t.driver.walk(missing, () => assert.fail('walk of a missing directory called back')),
        { driver: t.driver, path: missing, what: 'walk of a missing directory' },
      );
    });

    h.test('move of a directory fails with PathNotFoundError and changes nothing', async (t) => {
      t.deleteAfter(t.prefix);
      const content = testData(8).all();
      await t.driver.putContent(t.path('dir/file'), content);
      await expectPathNotFound(t.driver.move(t.path('dir'), t.path('elsewhere')), { driver: t.driver, path: t.path('dir'), what: 'move of a directory' });
      assertBytesEqual(await t.driver.getContent(t.path('dir/file')), content, 'the directory content');
      await expectPathNotFound(t.driver.stat(t.path('elsewhere')), { driver: t.driver, path: t.path('elsewhere'), what: 'stat of the move destination' });
    });

    h.test('delete of /a never deletes /ab, /a-b, /a.b or /a0, nor a file named like a sibling', async (t) => {
      t.deleteAfter(t.prefix);
      const keep = ['ab', 'a-b/x', 'a.b', 'a0/x', 'b/a', 'fx', 'f-2', 'f.txt'].map((p) => t.path(p));
      for (const path of [t.path('a/x'), t.path('a/y/z'), t.path('f'), ...keep]) await t.driver.putContent(path, testData(8).all());
      await t.driver.delete(t.path('a'));
      await t.driver.delete(t.path('f'));
      const files = (await walked(t.driver, t.prefix))
        .filter((i) => !i.isDir)
        .map((i) => i.path)
        .sort();
      assert.deepEqual(files, [...keep].sort(), 'files left after deleting /a and /f');
    });

    h.test('walk order is the same on every driver: depth first, names in byte order (/a/... before /a-b)', async (t) => {
      t.deleteAfter(t.prefix);
      // '-' < '.' < '0' < 'B' < '_' < 'a' < 'c'; avoid names equal but for case (case-insensitive filesystems).
      for (const name of ['c', 'a0', 'a.b', 'a-b/c', 'a/y/z', 'a/x', '_u', 'B']) await t.driver.putContent(t.path(name), testData(name.length).all());
      const expected: Array<[string, boolean]> = [
        ['/B', false],
        ['/_u', false],
        ['/a', true],
        ['/a/x', false],
        ['/a/y', true],
        ['/a/y/z', false],
        ['/a-b', true],
        ['/a-b/c', false],
        ['/a.b', false],
        ['/a0', false],
        ['/c', false],
      ];
      const infos = await walked(t.driver, t.prefix);
      assert.deepEqual(
        infos.map((i) => [i.path, i.isDir]),
        expected.map(([p, d]) => [t.path(p), d]),
        'walk order',
      );
      for (const info of infos) {
        const relative = info.path.slice(t.prefix.length + 1);
        assertFileInfo(info, { path: info.path, isDir: info.isDir, size: info.isDir ? 0 : relative.length }, `walk entry ${info.path}`);
      }
      assert.deepEqual(
        await t.driver.list(t.prefix),
        ['/B', '/_u', '/a', '/a-b', '/a.b', '/a0', '/c'].map((p) => t.path(p)),
        'list order',
      );

      // 'stop' ends the walk at once; 'skip' on a file changes nothing.
      const stopped: string[] = [];
      await t.driver.walk(t.prefix, (info) => {
        stopped.push(info.path);
        return info.path === t.path('a/x') ? 'stop' : undefined;
      });
      assert.deepEqual(
        stopped,
        ['/B', '/_u', '/a', '/a/x'].map((p) => t.path(p)),
        "walk with 'stop' at /a/x",
      );
      const skippingFiles = await (async () => {
        const seen: string[] = [];
        await t.driver.walk(t.prefix, (info) => {
          seen.push(info.path);
          return info.isDir ? undefined : 'skip';
        });
        return seen;
      })();
      assert.deepEqual(
        skippingFiles,
        expected.map(([p]) => t.path(p)),
        "'skip' on files has no effect",
      );
      assert.deepEqual(
        await walkedPaths(t.driver, t.path('a')),
        ['/a/x', '/a/y', '/a/y/z'].map((p) => t.path(p)),
        'walk of a subdirectory sees its descendants only',
      );
    });

    h.test('stat of a file shows a later modTime after a rewrite, by putContent and by writer', async (t) => {
      const path = t.path('file');
      t.deleteAfter(path);
      await t.driver.putContent(path, testData(10).all());
      const first = (await t.driver.stat(path)).modTime.getTime();
      await sleep(t.modTimeResolutionMs + 50);
      await t.driver.putContent(path, testData(10).all());
      const second = (await t.driver.stat(path)).modTime.getTime();
      assert.ok(second > first, `modTime after putContent (${new Date(second).toISOString()}) must be after ${new Date(first).toISOString()}`);
      await sleep(t.modTimeResolutionMs + 50);
      const writer = await t.driver.writer(path, false);
      await writer.write(testData(20).all());
      await writer.commit();
      const third = await t.driver.stat(path);
      assert.ok(
        third.modTime.getTime() > second,
        `modTime after a writer commit (${third.modTime.toISOString()}) must be after ${new Date(second).toISOString()}`,
      );
      assert.equal(third.size, 20, 'size after the writer commit');
      const walkedInfo = (await walked(t.driver, t.prefix)).find((i) => i.path === path);
      assert.ok(walkedInfo, 'the walk reports the file');
      assert.equal(walkedInfo.size, 20, 'walk reports the same size as stat');
    });

    h.test('every method reports a missing path as PathNotFoundError carrying driverName and the path', async (t) => {
      const missing = t.path('no/such/file');
      const opts = (what: string) => ({ driver: t.driver, path: missing, what });
      await expectPathNotFound(t.driver.getContent(missing), opts('getContent'));
      await expectPathNotFound(t.driver.reader(missing, 0), opts('reader'));
      await expectPathNotFound(t.driver.reader(missing, 10), opts('reader at 10'));
      await expectPathNotFound(t.driver.writer(missing, true), opts('writer(path, true)'));
      await expectPathNotFound(t.driver.stat(missing), opts('stat'));
      await expectPathNotFound(t.driver.list(missing), opts('list'));
      await expectPathNotFound(t.driver.move(missing, t.path('dest')), opts('move'));
      await expectPathNotFound(t.driver.delete(missing), opts('delete'));
      await expectPathNotFound(
        t.driver.walk(missing, () => undefined),
        opts('walk'),
      );
      const err = await expectError(t.driver.getContent(missing), ErrorCode.PathNotFound, opts('getContent'));
      assert.ok(err instanceof Error, 'errors are Error instances');
      assert.ok(err.message.includes(missing), 'the message names the path');
    });

    h.test('list("/") shows the prefix once something is stored below it', async (t) => {
      const file = t.path('x/file');
      t.deleteAfter(t.prefix);
      await t.driver.putContent(file, testData(8).all());
      const rootChildren = await t.driver.list('/');
      assert.ok(rootChildren.includes(t.prefix), `list("/") must include ${t.prefix}`);
      assert.deepEqual(rootChildren, [...rootChildren].sort(), 'list("/") is sorted');
      assert.ok(
        rootChildren.every((p) => /^\/[A-Za-z0-9._-]+$/.test(p)),
        'list("/") returns full valid paths of direct children only',
      );
    });
  });
}

/** Writes `content` through a writer: half, close, resume with append, the rest, commit. */
async function writeInTwoSessions(t: TestContext, path: string, content: Buffer): Promise<void> {
  const half = Math.floor(content.length / 2);
  const first = await t.driver.writer(path, false);
  await first.write(content.subarray(0, half));
  await first.close();
  const second = await t.driver.writer(path, true);
  await second.write(content.subarray(half));
  await second.commit();
}
