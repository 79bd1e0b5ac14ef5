/** Assertions and small utilities shared by the suite's tests. */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { ErrorCode, type FileInfo, type FileWriter, type StorageDriver, type WalkOptions } from '@stowage/core';
import { TestData, sha256 } from '../data';

export const sleep = (ms: number): Promise<void> => sleepFor(ms);

/** What the suite expects of every error a driver raises on purpose. */
export interface TypedErrorLike extends Error {
  code: string;
  driverName: string;
  path?: string;
}

export interface ExpectErrorOptions {
  driver: Pick<StorageDriver, 'name'>;
  /** The path the error must carry, when the operation is about one. */
  path?: string;
  /** What was attempted, for the failure message. */
  what?: string;
}

/**
 * Awaits `work` (a promise, or a function whose throw or rejection counts) and asserts that it
 * fails with the given stable `code`, naming the driver (in `driverName` and in the message) and,
 * when given, the path. Returns the error for further checks.
 */
export async function expectError(work: Promise<unknown> | (() => unknown), code: string, options: ExpectErrorOptions): Promise<TypedErrorLike> {
  const what = options.what ?? 'the operation';
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    const value = await (typeof work === 'function' ? work() : work);
    outcome = { ok: true, value };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    assert.fail(`${what}: expected an error with code ${code}, but it succeeded${describeValue(outcome.value)}`);
  }
  const err = outcome.error as Partial<TypedErrorLike> | undefined;
  if (typeof err !== 'object' || err === null || err.code !== code) {
    const shown = err instanceof Error ? `${err.name} (code ${String((err as { code?: unknown }).code)}): ${err.message}` : String(err);
    assert.fail(`${what}: expected an error with code ${code}, got ${shown}`);
  }
  assert.equal(err.driverName, options.driver.name, `${what}: error.driverName must be the driver's name`);
  assert.ok(String(err.message).includes(options.driver.name), `${what}: the error message must name the driver (${options.driver.name}): ${err.message}`);
  if (options.path !== undefined) assert.equal(err.path, options.path, `${what}: error.path must be the path the operation was about`);
  return err as TypedErrorLike;
}

function describeValue(value: unknown): string {
  if (value === undefined) return '';
  if (Buffer.isBuffer(value)) return ` (returned ${value.length} bytes)`;
  if (Array.isArray(value)) return ` (returned ${JSON.stringify(value.slice(0, 10))}${value.length > 10 ? '...' : ''})`;
  if (typeof value === 'object' && value !== null && 'path' in value) return ` (returned ${JSON.stringify(value)})`;
  return ` (returned ${typeof value === 'object' ? ((value as object).constructor?.name ?? 'an object') : String(value)})`;
}

export const expectPathNotFound = (work: Promise<unknown> | (() => unknown), options: ExpectErrorOptions) => expectError(work, ErrorCode.PathNotFound, options);

/** Asserts two byte sequences are equal, reporting the first differing offset rather than dumping them. */
export function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(e)) return;
  const n = Math.min(a.length, e.length);
  let i = 0;
  while (i < n && a[i] === e[i]) i++;
  assert.fail(`${what}: ${a.length} bytes read, ${e.length} expected; first difference at byte ${i}`);
}

/**
 * Compares a stream with `data` from `offset` on, chunk by chunk, without holding either whole;
 * reports the first differing absolute offset.
 */
export async function expectStreamMatches(stream: Readable, data: TestData, offset: number, what: string): Promise<void> {
  let at = offset;
  for await (const raw of stream) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    const expected = data.slice(at, chunk.length);
    if (!chunk.equals(expected)) {
      let i = 0;
      while (i < expected.length && chunk[i] === expected[i]) i++;
      assert.fail(`${what}: first difference at byte ${at + i} (read ${i < expected.length ? 'wrong bytes' : 'past the end'}; size ${data.size})`);
    }
    at += chunk.length;
  }
  assert.equal(at, data.size, `${what}: the stream ended at byte ${at}, expected ${data.size}`);
}

/** Writes data[from, to) through `writer` in chunks of `chunkSize`. */
export async function writeData(writer: FileWriter, data: TestData, chunkSize: number, from = 0, to = data.size): Promise<void> {
  for (let at = from; at < to; at += chunkSize) await writer.write(data.slice(at, Math.min(chunkSize, to - at)));
}

/** Every FileInfo a walk reports, in the order reported. */
export async function walked(driver: StorageDriver, root: string, options: WalkOptions = {}): Promise<FileInfo[]> {
  const seen: FileInfo[] = [];
  await driver.walk(
    root,
    (info) => {
      seen.push(info);
    },
    options,
  );
  return seen;
}

/** Paths a walk reports, in order. */
export async function walkedPaths(driver: StorageDriver, root: string, options: WalkOptions = {}): Promise<string[]> {
  return (await walked(driver, root, options)).map((info) => info.path);
}

export interface TreeEntry {
  isDir: boolean;
  size: number;
  sha256?: string;
}

/** Everything below `root` (by walk), with file contents hashed: compare two to prove nothing changed. */
export async function snapshotTree(driver: StorageDriver, root: string): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {};
  for (const info of await walked(driver, root)) {
    out[info.path] = info.isDir ? { isDir: true, size: info.size } : { isDir: false, size: info.size, sha256: sha256(await driver.getContent(info.path)) };
  }
  return out;
}

/** Checks the shape of a FileInfo. */
export function assertFileInfo(info: FileInfo, expected: { path: string; isDir: boolean; size?: number }, what: string): void {
  assert.equal(info.path, expected.path, `${what}: path`);
  assert.equal(info.isDir, expected.isDir, `${what}: isDir`);
  if (expected.size !== undefined) assert.equal(info.size, expected.size, `${what}: size`);
  if (expected.isDir) assert.equal(info.size, 0, `${what}: a directory's size is 0`);
  assert.ok(info.modTime instanceof Date && !Number.isNaN(info.modTime.getTime()), `${what}: modTime must be a valid Date`);
}

// ---- random names, as distribution's testsuites generate them ----

const FILENAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random name of exactly `length` characters from [a-z0-9], with an occasional '-' (never first,
 * last or doubled), like distribution's randomFilename.
 */
export function randomFilename(length: number): string {
  let name = '';
  let afterSeparator = true;
  for (let i = 0; i < length; i++) {
    if (!afterSeparator && i < length - 1 && randomInt(4) === 0) {
      name += '-';
      afterSeparator = true;
    } else {
      name += FILENAME_CHARS[randomInt(FILENAME_CHARS.length)];
      afterSeparator = false;
    }
  }
  return name;
}

/** A random name 8 to 15 characters long (distribution's `8 + rand.Intn(8)`). */
export function randomShortName(): string {
  return randomFilename(8 + randomInt(8));
}

/**
 * A random absolute path of exactly `length` characters with random depth, like distribution's
 * randomPath: components of random length separated by '/'.
 */
export function randomPath(length: number): string {
  let path = '/';
  while (path.length < length) {
    const chunk = randomFilename(randomInt(length - path.length) + 1);
    path += chunk;
    const remaining = length - path.length;
    if (remaining === 1) path += randomFilename(1);
    else if (remaining > 1) path += '/';
  }
  return path;
}

/**
 * `count` files at the leaves of a random binary tree of directories below `root`, like
 * distribution's randomBranchingFiles.
 */
export function randomBranchingFiles(root: string, count: number): string[] {
  const dir = `${root}/${randomShortName()}`;
  if (count <= 1) return [`${dir}/${randomShortName()}`];
  const half = Math.floor(count / 2);
  return [...randomBranchingFiles(dir, half + (count % 2)), ...randomBranchingFiles(dir, half)];
}

/** Formats a byte count for test titles: 5 GiB, 10 MiB, 5 MiB + 1 B, 32 B. */
export function describeSize(bytes: number): string {
  const units: Array<[number, string]> = [
    [1024 ** 3, 'GiB'],
    [1024 ** 2, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [unit, name] of units) {
    if (bytes >= unit) {
      const whole = Math.round(bytes / unit);
      const rest = bytes - whole * unit;
      if (rest === 0) return `${whole} ${name}`;
      if (Math.abs(rest) < 1024) return `${whole} ${name} ${rest > 0 ? '+' : '-'} ${Math.abs(rest)} B`;
      return `${(bytes / unit).toFixed(1)} ${name}`;
    }
  }
  return `${bytes} B`;
}

/** A TestData whose seed differs per call, so two contents in one test never coincide. */
export function testData(size: number): TestData {
  return new TestData(size);
}

/** The top-level entry below `prefix` that `path` lies in (distribution's firstPart): ('/p/a/b', '/p') -> '/p/a'. */
export function firstPart(path: string, prefix: string): string {
  assert.ok(path.startsWith(`${prefix}/`), `${path} is not below ${prefix}`);
  const rest = path.slice(prefix.length + 1);
  const slash = rest.indexOf('/');
  return `${prefix}/${slash < 0 ? rest : rest.slice(0, slash)}`;
}
