/**
 * Argument validation on every method: traversal and malformed paths are InvalidPathError before
 * any I/O (and change nothing), bad reader offsets are InvalidOffsetError.
 */
import assert from 'node:assert/strict';
import { ErrorCode, type StorageDriver } from '@stowage/core';
import { randomName } from '../data';
import type { Harness, TestContext } from './harness';
import { expectError, expectPathNotFound, snapshotTree, testData } from './helpers';

/** Paths that are invalid wherever they appear, whatever the prefix. */
const MALFORMED: unknown[] = [
  '',
  'a',
  'abc',
  '123.abc',
  '//bcd',
  '/abc_123/',
  '/.',
  '/..',
  '/./a',
  '/a/.',
  '/a/..',
  '/a/../b',
  '/a/./b',
  '//a',
  '/a/',
  '/a//b',
  '/a b',
  '/a\\b',
  '\\a',
  'C:\\a',
  '/a\u00e4',
  '/a\u0000b',
  '/a?b',
  '/a*',
  '/a:b',
  '~',
  '/~',
  '/a/~b',
  ' /a',
  '/a\n',
  '/a\r\n',
  '/\u2024\u2024',
  // not strings at all
  undefined,
  null,
  42,
  {},
  ['/a'],
  Buffer.from('/a'),
];

/** Traversal attempts aimed at the test's own files and at paths outside its prefix. */
function traversals(t: TestContext, outside: string): string[] {
  const p = t.prefix;
  return [
    `${p}/..`,
    `${p}/.`,
    `${p}/../${outside}`,
    `${p}/sub/..`,
    `${p}/sub/../keep`,
    `${p}/./keep`,
    `${p}/sub/./keep`,
    `${p}/`,
    `${p}//keep`,
    `${p}/sub/`,
    `${p}/sub//keep`,
    `/../${p.slice(1)}/keep`,
    `/./${p.slice(1)}/keep`,
    `${p}/keep/..`,
    `${p}/keep/.`,
  ];
}

function label(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}

interface MethodCase {
  name: string;
  /** Whether `/` is a legal argument here (stat, list, walk); if not, it is tested as invalid. */
  rootAllowed: boolean;
  call: (driver: StorageDriver, bad: unknown, t: TestContext) => Promise<unknown>;
  /** Values that are legal for this argument although invalid as paths. */
  legal?: unknown[];
}

export function registerValidationTests(h: Harness): void {
  const content = testData(16).all();
  const methods: MethodCase[] = [
    { name: 'getContent', rootAllowed: false, call: (d, p) => d.getContent(p as string) },
    { name: 'putContent', rootAllowed: false, call: (d, p) => d.putContent(p as string, content) },
    { name: 'reader', rootAllowed: false, call: (d, p) => d.reader(p as string, 0) },
    { name: 'writer (fresh)', rootAllowed: false, call: (d, p) => d.writer(p as string, false) },
    { name: 'writer (append)', rootAllowed: false, call: (d, p) => d.writer(p as string, true) },
    { name: 'stat', rootAllowed: true, call: (d, p) => d.stat(p as string) },
    { name: 'list', rootAllowed: true, call: (d, p) => d.list(p as string) },
    { name: 'move (source)', rootAllowed: false, call: (d, p, t) => d.move(p as string, t.path('moved')) },
    { name: 'move (destination)', rootAllowed: false, call: (d, p, t) => d.move(t.path('keep'), p as string) },
    { name: 'delete', rootAllowed: false, call: (d, p) => d.delete(p as string) },
    { name: 'redirectURL', rootAllowed: false, call: (d, p) => d.redirectURL(p as string) },
    {
      name: 'walk',
      rootAllowed: true,
      call: (d, p) =>
        d.walk(p as string, (info) => {
          throw new Error(`walk of an invalid path called back with ${info.path}`);
        }),
    },
    {
      name: 'walk (startAfterHint)',
      // No hint at all is the ordinary walk; '/' as a hint is left unspecified.
      rootAllowed: true,
      legal: [undefined],
      call: (d, p, t) =>
        d.walk(
          t.prefix,
          (info) => {
            throw new Error(`walk with an invalid hint called back with ${info.path}`);
          },
          { startAfterHint: p as string },
        ),
    },
  ];

  describe('path and offset validation', () => {
    for (const method of methods) {
      h.test(`${method.name} rejects traversal and malformed paths with InvalidPathError and changes nothing`, async (t) => {
        const keep = t.path('keep');
        t.deleteAfter(t.prefix);
        await t.driver.putContent(keep, testData(32).all());
        await t.driver.putContent(t.path('sub/keep'), testData(32).all());
        const before = await snapshotTree(t.driver, t.prefix);
        const outside = randomName();

        const cases = [...MALFORMED, ...traversals(t, outside), ...(method.rootAllowed ? [] : ['/'])].filter((c) => !method.legal?.includes(c));
        for (const bad of cases) {
          await expectError(() => method.call(t.driver, bad, t), ErrorCode.InvalidPath, {
            driver: t.driver,
            path: typeof bad === 'string' ? bad : undefined,
            what: `${method.name}(${label(bad)})`,
          });
        }

        assert.deepEqual(await snapshotTree(t.driver, t.prefix), before, `${method.name}: the files below the prefix changed`);
        await expectPathNotFound(t.driver.stat(`/${outside}`), {
          driver: t.driver,
          path: `/${outside}`,
          what: 'stat of the traversal target outside the prefix',
        });
        await expectPathNotFound(t.driver.stat(t.path('moved')), { driver: t.driver, path: t.path('moved'), what: 'stat of the move destination' });
        assert.deepEqual(await t.leftovers(), [], `${method.name}: the driver's leftovers hook`);
      });
    }

    h.test('reader rejects negative and non-integer offsets with InvalidOffsetError', async (t) => {
      const path = t.path('file');
      t.deleteAfter(path);
      await t.driver.putContent(path, testData(100).all());
      for (const offset of [-1, -1024, 0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '3', null]) {
        const err = await expectError(t.driver.reader(path, offset as number), ErrorCode.InvalidOffset, {
          driver: t.driver,
          path,
          what: `reader(path, ${String(offset)})`,
        });
        assert.ok(Object.is((err as unknown as { offset: unknown }).offset, offset), `InvalidOffsetError.offset for ${String(offset)}`);
      }
      // Past the end is not an error: the stream is empty.
      for (const offset of [100, 101, 1e9]) {
        const chunks: Buffer[] = [];
        for await (const chunk of await t.driver.reader(path, offset)) chunks.push(chunk as Buffer);
        assert.equal(Buffer.concat(chunks).length, 0, `reader at ${offset} of a 100-byte file reads nothing`);
      }
    });

    h.test('putContent rejects content that is not a Uint8Array with a typed error and writes nothing', async (t) => {
      const path = t.path('file');
      for (const bad of ['text', 42, null, undefined, [1, 2], new ArrayBuffer(2)]) {
        await expectError(() => t.driver.putContent(path, bad as unknown as Uint8Array), ErrorCode.InvalidArgument, {
          driver: t.driver,
          path,
          what: `putContent(path, ${label(bad)})`,
        });
      }
      await expectPathNotFound(t.driver.stat(path), { driver: t.driver, path, what: 'stat after the rejected putContent calls' });
      // Any Uint8Array view is content, not just Buffer.
      const bytes = new Uint8Array([1, 2, 3, 4, 5, 6]).subarray(1, 5);
      t.deleteAfter(path);
      await t.driver.putContent(path, bytes);
      assert.deepEqual([...(await t.driver.getContent(path))], [2, 3, 4, 5], 'a Uint8Array view is stored as its own bytes');
    });
  });
}
