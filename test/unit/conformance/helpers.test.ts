import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { isValidComponent, isValidPath, parentPath } from '@stowage/core';
import { TestData } from '@stowage/conformance';
import { helpers } from './load';

const { randomFilename, randomPath, randomBranchingFiles, describeSize, firstPart, expectError, expectStreamMatches, assertBytesEqual } = helpers;

async function rejectsWith(work: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof assert.AssertionError, `expected an AssertionError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('conformance: suite helpers', () => {
  describe('random names and paths (distribution-style)', () => {
    it('randomFilename has the exact length, valid characters and no leading, trailing or doubled "-"', () => {
      for (let i = 0; i < 2000; i++) {
        const length = 1 + (i % 40);
        const name = randomFilename(length);
        assert.equal(name.length, length);
        assert.match(name, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
        assert.ok(!name.includes('--'), name);
        assert.ok(isValidComponent(name), name);
      }
    });

    it('randomPath is a valid path of exactly the requested length, of varying depth', () => {
      const depths = new Set<number>();
      for (let i = 0; i < 2000; i++) {
        const path = randomPath(32);
        assert.equal(path.length, 32, path);
        assert.ok(isValidPath(path), path);
        depths.add(path.split('/').length - 1);
      }
      assert.ok(depths.size >= 3, `depths seen: ${[...depths].join(', ')}`);
    });

    it('randomBranchingFiles gives n distinct files at the leaves of a binary tree', () => {
      for (const n of [1, 2, 3, 10, 100]) {
        const files = randomBranchingFiles('/root', n);
        assert.equal(files.length, n);
        assert.equal(new Set(files).size, n);
        for (const file of files) {
          assert.ok(file.startsWith('/root/') && isValidPath(file), file);
          assert.ok(!files.includes(parentPath(file)), 'no file is another file’s directory');
        }
      }
    });

    it('firstPart finds the top-level entry below the prefix', () => {
      assert.equal(firstPart('/p/a/b/c', '/p'), '/p/a');
      assert.equal(firstPart('/p/a', '/p'), '/p/a');
      assert.throws(() => firstPart('/q/a', '/p'));
    });
  });

  it('describeSize labels sizes exactly for titles', () => {
    assert.equal(describeSize(32), '32 B');
    assert.equal(describeSize(4096), '4 KiB');
    assert.equal(describeSize(5 * 1024 * 1024 - 1), '5 MiB - 1 B');
    assert.equal(describeSize(5 * 1024 * 1024 + 1), '5 MiB + 1 B');
    assert.equal(describeSize(5 * 1024 ** 3), '5 GiB');
    assert.equal(describeSize(256 * 1024 + 1), '256 KiB + 1 B');
  });

  describe('expectError', () => {
    const driver = { name: 'memdrv' };
    const typed = (over: Record<string, unknown> = {}) =>
      Object.assign(new Error('memdrv: path not found: /a'), { code: 'ERR_PATH_NOT_FOUND', driverName: 'memdrv', path: '/a' }, over);

    it('returns the error when code, driver and path match', async () => {
      const err = await expectError(Promise.reject(typed()), 'ERR_PATH_NOT_FOUND', { driver, path: '/a' });
      assert.equal(err.path, '/a');
      await expectError(
        () => {
          throw typed();
        },
        'ERR_PATH_NOT_FOUND',
        { driver },
      );
    });

    it('fails on success, a wrong code, a wrong driver, a message without the driver, or a wrong path', async () => {
      await rejectsWith(
        expectError(Promise.resolve([1]), 'ERR_PATH_NOT_FOUND', { driver, what: 'list' }),
        /list: expected an error with code ERR_PATH_NOT_FOUND, but it succeeded/,
      );
      await rejectsWith(expectError(Promise.reject(typed({ code: 'ERR_STORAGE_DRIVER' })), 'ERR_PATH_NOT_FOUND', { driver }), /got .*ERR_STORAGE_DRIVER/);
      await rejectsWith(expectError(Promise.reject(new TypeError('boom')), 'ERR_PATH_NOT_FOUND', { driver }), /got TypeError/);
      await rejectsWith(expectError(Promise.reject(typed({ driverName: 'other' })), 'ERR_PATH_NOT_FOUND', { driver }), /driverName/);
      await rejectsWith(expectError(Promise.reject(typed({ message: 'path not found' })), 'ERR_PATH_NOT_FOUND', { driver }), /must name the driver/);
      await rejectsWith(expectError(Promise.reject(typed()), 'ERR_PATH_NOT_FOUND', { driver, path: '/b' }), /error.path/);
    });
  });

  describe('stream comparison', () => {
    const data = new TestData(100_000, 7);

    it('accepts the right bytes in any chunking, from any offset', async () => {
      await expectStreamMatches(data.stream(999), data, 0, 'whole');
      await expectStreamMatches(data.stream(4096, 12_345), data, 12_345, 'from an offset');
      await expectStreamMatches(Readable.from([]), data, data.size, 'empty at the end');
    });

    it('reports the first differing offset, a short stream and a long one', async () => {
      const shifted = Readable.from([data.slice(1, 50_000)]);
      await rejectsWith(expectStreamMatches(shifted, data, 0, 'shifted'), /shifted: first difference at byte 0/);
      const corrupt = Buffer.from(data.slice(0, 1000));
      corrupt.writeUInt8(corrupt.readUInt8(700) ^ 1, 700);
      await rejectsWith(expectStreamMatches(Readable.from([corrupt]), data, 0, 'corrupt'), /first difference at byte 700/);
      await rejectsWith(expectStreamMatches(Readable.from([data.slice(0, 10)]), data, 0, 'short'), /ended at byte 10, expected 100000/);
      await rejectsWith(expectStreamMatches(Readable.from([data.all(), Buffer.from('x')]), data, 0, 'long'), /past the end/);
    });

    it('assertBytesEqual names the first difference instead of dumping megabytes', () => {
      assertBytesEqual(Buffer.from('abc'), new Uint8Array([97, 98, 99]), 'same');
      assert.throws(() => assertBytesEqual(Buffer.from('abd'), Buffer.from('abc'), 'x'), /x: 3 bytes read, 3 expected; first difference at byte 2/);
    });
  });

  it('TestData never repeats a chunk (distribution’s generator does, which hides offset bugs)', () => {
    const data = new TestData(4 * 1024 * 1024, 1);
    const seen = new Set<string>();
    for (const chunk of data.chunks(32)) seen.add(chunk.toString('hex'));
    assert.equal(seen.size, data.size / 32);
  });
});
