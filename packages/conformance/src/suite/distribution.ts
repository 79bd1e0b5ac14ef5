/**
 * A port of distribution's registry/storage/driver/testsuites (DriverSuite), test by test, with
 * distribution's sizes and concurrency (scaled by the size profile where the profile says so).
 *
 * Differences, all deliberate:
 * - Everything happens below the test's random prefix instead of at the storage root, so suites
 *   can share a backend; "/" in distribution becomes the prefix (RootExists still lists "/").
 * - Content comes from TestData, which never repeats itself (distribution slices one random
 *   buffer, so a read at the wrong offset can still compare equal).
 * - Where distribution is lenient our contract is tighter, and the test follows the contract
 *   (each place says so): list output must already be sorted; stat("/") must be a directory;
 *   a move under a file fails with PathNotFoundError and changes nothing; walk order is pinned.
 *   The rest of the tightened contract ('.'/'..' invalid everywhere, append on nothing is
 *   PathNotFoundError, directories vanish with their last file, ...) is tested in the other files.
 */
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, KiB, MiB, compareWalkOrder, parentPath, readAll, type FileInfo } from '@stowage/core';
import { TestData, hashStream } from '../data';
import type { Harness, TestContext } from './harness';
import {
  assertBytesEqual,
  assertFileInfo,
  expectError,
  expectPathNotFound,
  expectStreamMatches,
  firstPart,
  describeSize,
  randomBranchingFiles,
  randomFilename,
  randomPath,
  randomShortName,
  sleep,
  testData,
  walked,
  walkedPaths,
  writeData,
} from './helpers';

/** io.Copy's buffer size: the writes distribution's stream tests make. */
const COPY_CHUNK = 32 * KiB;

export function registerDistributionTests(h: Harness): void {
  const { profile } = h;

  describe("distribution's testsuites", () => {
    h.test('RootExists: list("/") works on an empty or busy root', async (t) => {
      const children = await t.driver.list('/');
      assert.ok(Array.isArray(children), 'list("/") must return an array');
    });

    h.test('ValidPaths: every valid name shape round-trips through putContent/getContent', async (t) => {
      const contents = testData(64).all();
      const validFiles = [
        '/a',
        '/2',
        '/aa',
        '/a.a',
        '/0-9/abcdefg',
        '/abcdefg/z.75',
        '/abc/1.2.3.4.5-6_zyx/123.z/4',
        '/docker/docker-registry',
        '/123.abc',
        '/abc./abc',
        '/.abc',
        '/a--b',
        '/a-.b',
        '/_.abc',
        '/Docker/docker-registry',
        '/Abc/Cba',
      ];
      for (const name of validFiles) {
        const path = t.path(name);
        t.deleteAfter(firstPart(path, t.prefix));
        await t.driver.putContent(path, contents);
        assertBytesEqual(await t.driver.getContent(path), contents, `getContent(${path})`);
      }
    });

    h.test('InvalidPaths: malformed paths fail with InvalidPathError naming the driver', async (t) => {
      const contents = testData(64).all();
      for (const path of ['', '/', 'abc', '123.abc', '//bcd', '/abc_123/']) {
        await expectError(t.driver.putContent(path, contents), ErrorCode.InvalidPath, { driver: t.driver, path, what: `putContent(${JSON.stringify(path)})` });
        await expectError(t.driver.getContent(path), ErrorCode.InvalidPath, { driver: t.driver, path, what: `getContent(${JSON.stringify(path)})` });
      }
    });

    // distribution's WriteRead1-4/NonUTF8 and WriteReadStreams1-4/NonUTF8 store the same contents.
    const contentCases: Array<[string, string, () => Buffer]> = [
      ['1', 'one byte', () => Buffer.from('a')],
      ['2', 'two bytes of UTF-8', () => Buffer.from([0xc3, 0x9f])],
      ['3', '32 bytes', () => testData(32).all()],
      ['4', '1 MiB', () => testData(MiB).all()],
      ['NonUTF8', 'bytes that are not UTF-8', () => Buffer.from([0x80, 0x80, 0x80, 0x80])],
    ];
    for (const [suffix, what, contents] of contentCases) {
      h.test(`WriteRead${suffix}: putContent then getContent returns ${what}`, async (t) => {
        await writeReadCompare(t, t.path(randomPath(32)), contents());
      });
    }

    h.test('Truncate: a smaller putContent replaces all of a larger file', async (t) => {
      const path = t.path(randomPath(32));
      await writeReadCompare(t, path, testData(MiB).all());
      await writeReadCompare(t, path, testData(KiB).all());
    });

    h.test('ReadNonexistent: getContent of a missing path fails with PathNotFoundError', async (t) => {
      const path = t.path(randomPath(32));
      await expectPathNotFound(t.driver.getContent(path), { driver: t.driver, path, what: 'getContent of a missing path' });
    });

    for (const [suffix, what, contents] of contentCases) {
      h.test(`WriteReadStreams${suffix}: writer then reader returns ${what}`, async (t) => {
        await writeReadCompareStreams(t, t.path(randomPath(32)), contents());
      });
    }

    h.test(`WriteReadLargeStreams: ${describeSize(profile.largeStream)} through one writer, read back with the same sha256`, async (t) => {
      const size = profile.largeStream;
      const path = t.path(randomPath(32));
      t.deleteAfter(firstPart(path, t.prefix));
      // Streamed both ways: TestData regenerates any range, so the content is never held whole.
      const data = new TestData(size);
      const written = createHash('sha256');
      const writer = await t.driver.writer(path, false);
      for (const chunk of data.chunks(MiB)) {
        written.update(chunk);
        await writer.write(chunk);
      }
      assert.equal(writer.size, size, 'writer.size after writing');
      await writer.commit();
      await writer.close();
      assert.equal((await t.driver.stat(path)).size, size, 'stat size after commit');
      const read = await hashStream(await t.driver.reader(path, 0));
      assert.equal(read.size, size, 'bytes read back');
      assert.equal(read.sha256, written.digest('hex'), 'sha256 of the bytes read back');
    });

    h.test('ReaderWithOffset: readers start at their offset; past the end is empty; negative is InvalidOffsetError', async (t) => {
      const chunkSize = 32;
      const path = t.path(randomPath(32));
      t.deleteAfter(firstPart(path, t.prefix));
      const all = testData(3 * chunkSize).all();
      await t.driver.putContent(path, all);

      assertBytesEqual(await readAll(await t.driver.reader(path, 0)), all, 'reader at 0');
      assertBytesEqual(await readAll(await t.driver.reader(path, chunkSize)), all.subarray(chunkSize), `reader at ${chunkSize}`);
      assertBytesEqual(await readAll(await t.driver.reader(path, 2 * chunkSize)), all.subarray(2 * chunkSize), `reader at ${2 * chunkSize}`);

      const err = await expectError(t.driver.reader(path, -1), ErrorCode.InvalidOffset, { driver: t.driver, path, what: 'reader at -1' });
      assert.equal((err as unknown as { offset: number }).offset, -1, 'InvalidOffsetError.offset');

      assert.equal((await readAll(await t.driver.reader(path, 3 * chunkSize))).length, 0, 'a reader at the size reads nothing');
      const last = await readAll(await t.driver.reader(path, 3 * chunkSize - 1));
      assertBytesEqual(last, all.subarray(3 * chunkSize - 1), 'a reader at size - 1 reads the last byte');
    });

    h.test(`ContinueStreamAppendLarge: three sessions of ${describeSize(profile.appendLargeChunk)}, closed and resumed with append`, async (t) => {
      await continueStreamAppend(t, profile.appendLargeChunk);
    });

    h.test('ContinueStreamAppendSmall: three sessions of 32 B, closed and resumed with append', async (t) => {
      await continueStreamAppend(t, 32);
    });

    h.test('ReadNonexistentStream: reader of a missing path fails with PathNotFoundError at any offset', async (t) => {
      const path = t.path(randomPath(32));
      await expectPathNotFound(t.driver.reader(path, 0), { driver: t.driver, path, what: 'reader at 0 of a missing path' });
      await expectPathNotFound(t.driver.reader(path, 64), { driver: t.driver, path, what: 'reader at 64 of a missing path' });
    });

    h.test('WriteZeroByteStreamThenAppend: an empty committed stream can be appended to', async (t) => {
      const path = t.path(randomPath(32));
      t.deleteAfter(firstPart(path, t.prefix));
      const chunk = testData(32).all();

      const writer = await t.driver.writer(path, false);
      await writer.commit();
      await writer.close();
      assert.equal(writer.size, 0, 'size of the empty writer');
      await appendToEmptyFile(t, path, chunk);
    });

    h.test('WriteZeroByteContentThenAppend: empty putContent can be appended to', async (t) => {
      const path = t.path(randomPath(32));
      t.deleteAfter(firstPart(path, t.prefix));
      const chunk = testData(32).all();

      await t.driver.putContent(path, Buffer.alloc(0));
      await appendToEmptyFile(t, path, chunk);
    });

    h.test('List: direct children as full paths, sorted; a missing directory is PathNotFoundError', async (t) => {
      const rootDirectory = t.path(randomShortName());
      t.deleteAfter(rootDirectory);

      const doesNotExist = `${rootDirectory}/nonexistent`;
      await expectPathNotFound(t.driver.list(doesNotExist), { driver: t.driver, path: doesNotExist, what: 'list of a missing directory' });

      const parentDirectory = `${rootDirectory}/${randomShortName()}`;
      const childFiles = await putChildFiles(t, parentDirectory, 50);

      // distribution lists "/" here; our root is shared, so the prefix plays its part.
      assert.deepEqual(await t.driver.list(t.prefix), [rootDirectory], `list(${t.prefix})`);
      assert.deepEqual(await t.driver.list(rootDirectory), [parentDirectory], 'list of the root directory');
      // distribution sorts the result itself; our contract says list returns it sorted.
      assert.deepEqual(await t.driver.list(parentDirectory), childFiles, 'list of the parent directory (sorted, full paths)');
    });

    h.test('ListOverlappingPaths: listing a directory never includes siblings that share its name as a prefix', async (t) => {
      const rootDirectory = t.path(randomShortName());
      t.deleteAfter(rootDirectory);
      const parentDirectory = `${rootDirectory}/${randomShortName()}`;
      const childFiles = await putChildFiles(t, parentDirectory, 50);
      // Names that extend the parent's name: with plain key-prefix listing they would leak in.
      const overlapping = [`${parentDirectory}-suffix/file`, `${parentDirectory}suffix/file`, `${parentDirectory}.x`, `${parentDirectory}0/file`];
      const shorter = `${parentDirectory.slice(0, -1)}/file`;
      for (const path of [...overlapping, shorter]) await t.driver.putContent(path, testData(16).all());

      assert.deepEqual(await t.driver.list(parentDirectory), childFiles, 'list of the parent directory');
      const expectedRoot = [parentDirectory, ...overlapping.map((p) => (p.endsWith('/file') ? parentPath(p) : p)), parentPath(shorter)].sort();
      assert.deepEqual(await t.driver.list(rootDirectory), expectedRoot, 'list of the root directory');
      assert.deepEqual(await t.driver.list(`${parentDirectory}-suffix`), [`${parentDirectory}-suffix/file`], 'list of the -suffix sibling');
      assert.deepEqual(await t.driver.list(parentPath(shorter)), [shorter], 'list of the sibling whose name is a prefix of the parent');
    });

    h.test('Move: the content moves to the destination and the source is gone', async (t) => {
      const contents = testData(32).all();
      const sourcePath = t.path(randomPath(32));
      const destPath = t.path(randomPath(32));
      t.deleteAfter(firstPart(sourcePath, t.prefix));
      t.deleteAfter(firstPart(destPath, t.prefix));

      await t.driver.putContent(sourcePath, contents);
      await t.driver.move(sourcePath, destPath);
      assertBytesEqual(await t.driver.getContent(destPath), contents, 'destination content');
      await expectPathNotFound(t.driver.getContent(sourcePath), { driver: t.driver, path: sourcePath, what: 'getContent of the moved source' });
    });

    h.test('MoveOverwrite: a move replaces existing content at the destination', async (t) => {
      const sourcePath = t.path(randomPath(32));
      const destPath = t.path(randomPath(32));
      const sourceContents = testData(32).all();
      const destContents = testData(64).all();
      t.deleteAfter(firstPart(sourcePath, t.prefix));
      t.deleteAfter(firstPart(destPath, t.prefix));

      await t.driver.putContent(sourcePath, sourceContents);
      await t.driver.putContent(destPath, destContents);
      await t.driver.move(sourcePath, destPath);
      assertBytesEqual(await t.driver.getContent(destPath), sourceContents, 'destination content');
      await expectPathNotFound(t.driver.getContent(sourcePath), { driver: t.driver, path: sourcePath, what: 'getContent of the moved source' });
    });

    h.test('MoveNonexistent: moving a missing source fails and leaves the destination alone', async (t) => {
      const contents = testData(32).all();
      const sourcePath = t.path(randomPath(32));
      const destPath = t.path(randomPath(32));
      t.deleteAfter(firstPart(destPath, t.prefix));

      await t.driver.putContent(destPath, contents);
      await expectPathNotFound(t.driver.move(sourcePath, destPath), { driver: t.driver, path: sourcePath, what: 'move of a missing source' });
      assertBytesEqual(await t.driver.getContent(destPath), contents, 'destination content');
    });

    h.test('MoveInvalid: moving a path below a file fails with PathNotFoundError and changes nothing', async (t) => {
      const contents = testData(32).all();
      const notADir = t.path('/notadir');
      t.deleteAfter(notADir);
      await t.driver.putContent(notADir, contents);
      // distribution only asks for an error; the source is missing, so ours must say so.
      await expectPathNotFound(t.driver.move(`${notADir}/foo`, `${notADir}/bar`), { driver: t.driver, path: `${notADir}/foo`, what: 'move below a file' });
      assertBytesEqual(await t.driver.getContent(notADir), contents, 'the file is untouched');
    });

    h.test('Delete: a deleted file is gone', async (t) => {
      const path = t.path(randomPath(32));
      t.deleteAfter(firstPart(path, t.prefix));
      await t.driver.putContent(path, testData(32).all());
      await t.driver.delete(path);
      await expectPathNotFound(t.driver.getContent(path), { driver: t.driver, path, what: 'getContent after delete' });
    });

    // The title cannot say which: the driver (and so its `supports`) exists only once the suite runs.
    h.test('RedirectURL: GET and HEAD URLs serve the content (fetched with plain fetch), or null without the redirect capability', async (t) => {
      const path = t.path(randomPath(32));
      const contents = testData(32).all();
      t.deleteAfter(firstPart(path, t.prefix));
      await t.driver.putContent(path, contents);

      const getURL = await t.driver.redirectURL(path);
      const headURL = await t.driver.redirectURL(path, { method: 'HEAD' });
      if (!t.capabilities.redirect) {
        assert.equal(getURL, null, 'redirectURL (GET) of a driver without redirects');
        assert.equal(headURL, null, 'redirectURL (HEAD) of a driver without redirects');
        return;
      }
      assert.equal(typeof getURL, 'string', 'redirectURL (GET) must return a URL');
      const got = await fetch(getURL as string);
      assert.equal(got.status, 200, 'GET status');
      assertBytesEqual(Buffer.from(await got.arrayBuffer()), contents, 'GET body');

      assert.equal(typeof headURL, 'string', 'redirectURL (HEAD) must return a URL');
      const head = await fetch(headURL as string, { method: 'HEAD' });
      assert.equal(head.status, 200, 'HEAD status');
      assert.equal(head.headers.get('content-length'), String(contents.length), 'HEAD content-length');
    });

    h.test('DeleteNonexistent: deleting a missing path fails with PathNotFoundError', async (t) => {
      const path = t.path(randomPath(32));
      await expectPathNotFound(t.driver.delete(path), { driver: t.driver, path, what: 'delete of a missing path' });
    });

    h.test('DeleteFolder: deleting a directory deletes everything below it', async (t) => {
      const dirname = t.path(randomPath(32));
      const files = [randomPath(32), randomPath(32), randomPath(32)].map((name) => `${dirname}${name}`);
      const contents = testData(32).all();
      t.deleteAfter(firstPart(dirname, t.prefix));

      for (const file of files) await t.driver.putContent(file, contents);
      await t.driver.delete(files[0]!);
      await expectPathNotFound(t.driver.getContent(files[0]!), { driver: t.driver, path: files[0]!, what: 'the deleted file' });
      await t.driver.getContent(files[1]!);
      await t.driver.getContent(files[2]!);

      await t.driver.delete(dirname);
      for (const file of files) await expectPathNotFound(t.driver.getContent(file), { driver: t.driver, path: file, what: 'a file of the deleted directory' });
    });

    h.test('DeleteOnlyDeletesSubpaths: deleting /a never deletes /ab', async (t) => {
      const dirname = randomPath(32);
      const filename = randomPath(32);
      const base = t.path(dirname);
      const contents = testData(32).all();
      t.deleteAfter(firstPart(base, t.prefix));

      const file = `${base}${filename}`;
      const fileSuffix = `${base}${filename}suffix`;
      const nested = `${base}${dirname}${filename}`;
      const nestedSuffix = `${base}${dirname}suffix${filename}`;
      for (const path of [file, fileSuffix, nested, nestedSuffix]) await t.driver.putContent(path, contents);

      await t.driver.delete(file);
      await expectPathNotFound(t.driver.getContent(file), { driver: t.driver, path: file, what: 'the deleted file' });
      assertBytesEqual(await t.driver.getContent(fileSuffix), contents, 'the file whose name extends the deleted one');

      await t.driver.delete(`${base}${dirname}`);
      await expectPathNotFound(t.driver.getContent(nested), { driver: t.driver, path: nested, what: 'a file of the deleted directory' });
      assertBytesEqual(await t.driver.getContent(nestedSuffix), contents, 'a file of the directory whose name extends the deleted one');
    });

    h.test('StatCall: stat reports files and directories; a rewrite moves modTime forward', async (t) => {
      let content = testData(4096).all();
      const dirPath = t.path(randomPath(32));
      const filePath = `${dirPath}/${randomFilename(32)}`;
      t.deleteAfter(firstPart(dirPath, t.prefix));

      await expectPathNotFound(t.driver.stat(dirPath), { driver: t.driver, path: dirPath, what: 'stat of a missing directory' });
      await expectPathNotFound(t.driver.stat(filePath), { driver: t.driver, path: filePath, what: 'stat of a missing file' });

      await t.driver.putContent(filePath, content);
      const created = await t.driver.stat(filePath);
      assertFileInfo(created, { path: filePath, isDir: false, size: content.length }, 'stat of the file');

      // distribution sleeps 10 s; the backend's declared modTime resolution is what matters.
      await sleep(t.modTimeResolutionMs + 50);
      content = testData(4096).all();
      await t.driver.putContent(filePath, content);
      const modified = await t.driver.stat(filePath);
      assert.ok(
        modified.modTime.getTime() > created.modTime.getTime(),
        `modTime after the rewrite (${modified.modTime.toISOString()}) must be after the first (${created.modTime.toISOString()})`,
      );

      assertFileInfo(await t.driver.stat(dirPath), { path: dirPath, isDir: true, size: 0 }, 'stat of the directory');
      // distribution accepts PathNotFoundError here; our contract says the root is a directory.
      const root = await t.driver.stat('/');
      assert.equal(root.isDir, true, 'stat("/") is a directory');
      assert.equal(root.path, '/', 'stat("/").path');
    });

    h.test('PutContentMultipleTimes: each putContent replaces the whole file', async (t) => {
      const path = t.path(randomPath(32));
      t.deleteAfter(firstPart(path, t.prefix));
      await t.driver.putContent(path, testData(4096).all());
      const smaller = testData(2048).all();
      await t.driver.putContent(path, smaller);
      assertBytesEqual(await t.driver.getContent(path), smaller, 'content after the second putContent');
    });

    h.test(`ConcurrentStreamReads: 10 concurrent readers at random offsets of a ${describeSize(profile.concurrentReadsFileSize)} file`, async (t) => {
      const size = profile.concurrentReadsFileSize;
      const path = t.path(randomPath(32));
      t.deleteAfter(firstPart(path, t.prefix));
      const data = new TestData(size);
      await t.driver.putContent(path, data.all());

      const offsets = Array.from({ length: 10 }, () => randomInt(size));
      await Promise.all(
        offsets.map(async (offset) => {
          const reader = await t.driver.reader(path, offset);
          await expectStreamMatches(reader, data, offset, `reader at offset ${offset}`);
        }),
      );
    });

    h.test(
      `ConcurrentFileStreams: ${profile.concurrentStreams} concurrent writers fed from files, ${describeSize(profile.concurrentStreamSize)} each`,
      async (t) => {
        const tmp = await mkdtemp(join(tmpdir(), 'stowage-conformance-'));
        t.defer(() => rm(tmp, { recursive: true, force: true }));
        const streams = Array.from({ length: profile.concurrentStreams }, (_, i) => i);
        await Promise.all(streams.map((i) => testFileStream(t, join(tmp, `tf${i}`), profile.concurrentStreamSize)));
      },
    );

    h.test('Walk: visits every file and directory below the root, once each, in walk order', async (t) => {
      const rootDirectory = t.path(randomShortName());
      t.deleteAfter(rootDirectory);
      const wantedFiles = randomBranchingFiles(rootDirectory, 10);
      const wantedDirectories = new Set<string>();
      const sizes = new Map<string, number>();
      for (const file of wantedFiles) {
        for (let dir = parentPath(file); dir !== rootDirectory; dir = parentPath(dir)) wantedDirectories.add(dir);
        const size = 8 + randomInt(8);
        sizes.set(file, size);
        await t.driver.putContent(file, testData(size).all());
      }

      const infos = await walked(t.driver, rootDirectory);
      const files = infos.filter((info) => !info.isDir);
      const directories = infos.filter((info) => info.isDir);
      // distribution compares the sets; our contract also pins the order.
      assert.deepEqual(files.map((f) => f.path).sort(), [...wantedFiles].sort(), 'files walked');
      assert.deepEqual(directories.map((d) => d.path).sort(), [...wantedDirectories].sort(), 'directories walked');
      assert.deepEqual(
        infos.map((i) => i.path),
        [...wantedFiles, ...wantedDirectories].sort(compareWalkOrder),
        'walk order',
      );
      for (const file of files) assert.equal(file.size, sizes.get(file.path), `size of ${file.path} in the walk`);
    });

    h.test("WalkError: the callback's error ends the walk and reaches the caller unchanged", async (t) => {
      const rootDirectory = t.path(randomShortName());
      t.deleteAfter(rootDirectory);
      const wantedFiles = randomBranchingFiles(rootDirectory, 100);
      for (const file of wantedFiles) await t.driver.putContent(file, testData(8 + randomInt(8)).all());

      const innerError = new Error('walk: expected test error');
      const errorFile = wantedFiles[0]!;
      let callsAfterError = 0;
      let thrown = false;
      let caught: unknown;
      try {
        await t.driver.walk(rootDirectory, (info: FileInfo) => {
          if (thrown) callsAfterError++;
          if (info.path === errorFile) {
            thrown = true;
            throw innerError;
          }
        });
      } catch (err) {
        caught = err;
      }
      assert.ok(thrown, `the walk never reached ${errorFile}`);
      assert.equal(caught, innerError, "walk must reject with the callback's own error");
      assert.equal(callsAfterError, 0, 'the walk must stop at the error');
    });

    h.test('WalkSkipDir: "skip" on a directory skips its subtree and nothing else', async (t) => {
      const rootDirectory = t.path(randomShortName());
      t.deleteAfter(rootDirectory);
      const wantedFiles = randomBranchingFiles(rootDirectory, 100);
      for (const file of wantedFiles) await t.driver.putContent(file, testData(8 + randomInt(8)).all());

      const skipDir = parentPath(wantedFiles[0]!);
      const visitedBelowSkipped: string[] = [];
      const visited = new Set<string>();
      await t.driver.walk(rootDirectory, (info) => {
        visited.add(info.path);
        if (info.path.startsWith(`${skipDir}/`)) visitedBelowSkipped.push(info.path);
        return info.path === skipDir ? 'skip' : undefined;
      });
      assert.ok(visited.has(skipDir), 'the skipped directory itself is visited');
      assert.deepEqual(visitedBelowSkipped, [], 'nothing below the skipped directory is visited');
      const missed = wantedFiles.filter((f) => !f.startsWith(`${skipDir}/`) && !visited.has(f));
      assert.deepEqual(missed, [], 'every file outside the skipped directory is visited');
    });

    h.test('WalkStartAfterHint: the walk resumes after the hint, in walk order', async (t) => {
      const files = [
        '/file1',
        '/folder1/file1',
        '/folder1-suffix/file1',
        '/folder2/file1',
        '/folder3/subfolder1/subfolder1/file1',
        '/folder3/subfolder2/subfolder1/file1',
        '/folder4/file1',
      ];
      for (const file of files) {
        t.deleteAfter(firstPart(t.path(file), t.prefix));
        await t.driver.putContent(t.path(file), testData(8).all());
      }
      const everything = [
        '/file1',
        '/folder1',
        '/folder1/file1',
        '/folder1-suffix', // '-' sorts before '/', but a directory's subtree still comes first
        '/folder1-suffix/file1',
        '/folder2',
        '/folder2/file1',
        '/folder3',
        '/folder3/subfolder1',
        '/folder3/subfolder1/subfolder1',
        '/folder3/subfolder1/subfolder1/file1',
        '/folder3/subfolder2',
        '/folder3/subfolder2/subfolder1',
        '/folder3/subfolder2/subfolder1/file1',
        '/folder4',
        '/folder4/file1',
      ];
      const from = (start: string) => everything.slice(everything.indexOf(start));
      const cases: Array<{ name: string; root?: string; hint?: string; expected: string[] }> = [
        { name: 'walk all', expected: everything },
        { name: 'start late expecting -suffix', hint: '/folder1/file1', expected: from('/folder1-suffix') },
        { name: 'start late without from', hint: '/folder3/subfolder1/subfolder1/file1', expected: from('/folder3/subfolder2') },
        {
          name: 'start late with from',
          root: '/folder3',
          hint: '/folder3/subfolder1/subfolder1/file1',
          expected: ['/folder3/subfolder2', '/folder3/subfolder2/subfolder1', '/folder3/subfolder2/subfolder1/file1'],
        },
        { name: 'start after from', root: '/folder1', hint: '/folder1-suffix', expected: [] },
        { name: 'start matches from', root: '/folder3', hint: '/folder3', expected: everything.filter((p) => p.startsWith('/folder3/')) },
        { name: "start doesn't exist", root: '/folder3', hint: '/folder3/notafolder/notafile', expected: everything.filter((p) => p.startsWith('/folder3/')) },
        { name: 'from folder', root: '/folder1', expected: ['/folder1/file1'] },
      ];
      for (const c of cases) {
        const root = c.root ? t.path(c.root) : t.prefix;
        const options = c.hint ? { startAfterHint: t.path(c.hint) } : {};
        const got = await walkedPaths(t.driver, root, options);
        assert.deepEqual(
          got,
          c.expected.map((p) => t.path(p)),
          `${c.name}: walk(${root}${c.hint ? `, startAfterHint ${t.path(c.hint)}` : ''})`,
        );
      }
    });
  });
}

async function writeReadCompare(t: TestContext, path: string, contents: Buffer): Promise<void> {
  t.deleteAfter(firstPart(path, t.prefix));
  await t.driver.putContent(path, contents);
  assertBytesEqual(await t.driver.getContent(path), contents, `getContent(${path})`);
}

async function writeReadCompareStreams(t: TestContext, path: string, contents: Buffer): Promise<void> {
  t.deleteAfter(firstPart(path, t.prefix));
  const writer = await t.driver.writer(path, false);
  for (let at = 0; at < contents.length; at += COPY_CHUNK) await writer.write(contents.subarray(at, at + COPY_CHUNK));
  assert.equal(writer.size, contents.length, 'writer.size after writing');
  await writer.commit();
  await writer.close();
  assertBytesEqual(await readAll(await t.driver.reader(path, 0)), contents, `reader(${path})`);
}

async function continueStreamAppend(t: TestContext, chunkSize: number): Promise<void> {
  const path = t.path(randomPath(32));
  t.deleteAfter(firstPart(path, t.prefix));
  const data = new TestData(3 * chunkSize);

  let writer = await t.driver.writer(path, false);
  await writeData(writer, data, COPY_CHUNK, 0, chunkSize);
  await writer.close();
  assert.equal(writer.size, chunkSize, 'size after the first session');

  writer = await t.driver.writer(path, true);
  assert.equal(writer.size, chunkSize, 'size when resuming the second session');
  await writeData(writer, data, COPY_CHUNK, chunkSize, 2 * chunkSize);
  await writer.close();
  assert.equal(writer.size, 2 * chunkSize, 'size after the second session');

  writer = await t.driver.writer(path, true);
  assert.equal(writer.size, 2 * chunkSize, 'size when resuming the third session');
  await writeData(writer, data, COPY_CHUNK, 2 * chunkSize, 3 * chunkSize);
  await writer.commit();
  await writer.close();

  await expectStreamMatches(await t.driver.reader(path, 0), data, 0, 'content after three sessions');
  assertBytesEqual(await t.driver.getContent(path), data.all(), 'getContent after three sessions');
}

/** distribution's testFileStreams: a temporary file piped into a writer, then read back. */
async function testFileStream(t: TestContext, tmpFile: string, size: number): Promise<void> {
  const data = new TestData(size);
  await pipeline(data.stream(MiB), createWriteStream(tmpFile));
  const path = t.path(randomPath(32));
  t.deleteAfter(firstPart(path, t.prefix));

  const writer = await t.driver.writer(path, false);
  await pipeline(createReadStream(tmpFile), writer.asWritable());
  assert.equal(writer.size, size, 'writer.size after piping the file');
  await writer.commit();
  await writer.close();
  await expectStreamMatches(await t.driver.reader(path, 0), data, 0, `reader(${path})`);
}

/** Checks that `path` holds committed empty content, then that append continues from 0 with `chunk`. */
async function appendToEmptyFile(t: TestContext, path: string, chunk: Buffer): Promise<void> {
  assert.equal((await readAll(await t.driver.reader(path, 0))).length, 0, 'the committed file is empty');
  const appender = await t.driver.writer(path, true);
  assert.equal(appender.size, 0, 'an append to empty content starts at 0');
  await appender.write(chunk);
  await appender.commit();
  await appender.close();
  assert.equal(appender.size, chunk.length, 'size after the append');
  assertBytesEqual(await readAll(await t.driver.reader(path, 0)), chunk, 'content after the append');
}

/** Puts `count` small files with random names directly below `dir`; returns their paths, sorted. */
async function putChildFiles(t: TestContext, dir: string, count: number): Promise<string[]> {
  const childFiles: string[] = [];
  for (let i = 0; i < count; i++) {
    const child = `${dir}/${randomShortName()}`;
    childFiles.push(child);
    await t.driver.putContent(child, testData(32).all());
  }
  return childFiles.sort();
}
