import { KiB, MiB, readAll } from '@stowage/core';
import type { BenchData } from './bench-data';
import { sizeLabel } from './size';
import type { Baseline } from './types';

/** From this size on a benchmark does one operation per round, with no warm-up. */
export const LARGE_THRESHOLD = 64 * MiB;

/** The 256 MiB stream the issue adds to distribution's list (one of the two filesystem targets). */
export const STREAM_TARGET_SIZE = 256 * MiB;

/** Bounds the untimed setup of a Delete batch (files created per batch); the runner also bounds its time. */
const MAX_SETUP_FILES_PER_BATCH = 50_000;

/** Where a batch works: each side (driver, baseline) has its own `side` dir, each batch its own `batch` dir below it. */
interface BatchDirs {
  side: string;
  batch: string;
}

/** One benchmark. `op` is the timed operation; everything else is untimed. */
export interface BenchCase {
  name: string;
  distribution?: string;
  bytesPerOp: number;
  large: boolean;
  maxOpsPerBatch: number;
  /** Once per side, before warm-up (List's files). */
  setupSide?(target: Baseline, sideDir: string): Promise<void>;
  /** Once per side, untimed: the operation does the right thing (content compared byte for byte). */
  verify?(target: Baseline, sideDir: string): Promise<void>;
  /** Before a batch of `ops` operations (Delete's directories). */
  prepareBatch?(target: Baseline, dirs: BatchDirs, ops: number): Promise<void>;
  op(target: Baseline, dirs: BatchDirs, index: number): Promise<void>;
  /** After a batch: remove what it left, if anything (not-found is fine). */
  cleanupBatch: boolean;
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let size = 0;
  for await (const chunk of stream) size += chunk.byteLength;
  return size;
}

function expectSize(what: string, key: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what} ${key}: got ${got} bytes, expected ${want}`);
}

function expectSame(what: string, key: string, got: Uint8Array, want: Uint8Array): void {
  expectSize(what, key, got.byteLength, want.byteLength);
  if (Buffer.compare(got, want) !== 0) throw new Error(`${what} ${key}: content differs from what was written`);
}

/** Largest content verify() compares byte for byte; past it only the timed ops check sizes. */
const VERIFY_LIMIT = 64 * MiB;

/** How a sized benchmark moves bytes: whole-object put/get, or a stream each way. */
interface Transfer {
  /** Names the read in error messages. */
  readLabel: string;
  write(target: Baseline, key: string, size: number, data: BenchData): Promise<void>;
  /** What a read must return, byte for byte (checked untimed, by verify). */
  expected(size: number, data: BenchData): Buffer;
  readAll(target: Baseline, key: string): Promise<Uint8Array>;
  /** The timed read: how many bytes came back. */
  readSize(target: Baseline, key: string): Promise<number>;
}

const TRANSFERS: Record<'putGet' | 'stream', Transfer> = {
  putGet: {
    readLabel: 'get',
    write: (target, key, size, data) => target.put(key, data.content(size)),
    expected: (size, data) => data.content(size),
    readAll: (target, key) => target.get(key),
    readSize: async (target, key) => (await target.get(key)).byteLength,
  },
  stream: {
    readLabel: 'stream read',
    write: (target, key, size, data) => target.streamWrite(key, data.chunks(size)),
    expected: (size, data) => Buffer.concat([...data.chunks(size)]),
    readAll: async (target, key) => readAll(await target.streamRead(key)),
    // Distribution's benchmark only opens the reader; reading it all measures the streaming.
    readSize: async (target, key) => drain(await target.streamRead(key)),
  },
};

function transferCase(transfer: Transfer, name: string, size: number, data: BenchData, distribution?: string): BenchCase {
  return {
    name,
    distribution,
    bytesPerOp: size,
    large: size >= LARGE_THRESHOLD,
    maxOpsPerBatch: 100_000,
    cleanupBatch: true,
    async verify(target, sideDir) {
      if (size > VERIFY_LIMIT) return;
      const key = `${sideDir}/verify`;
      await transfer.write(target, key, size, data);
      expectSame(transfer.readLabel, key, await transfer.readAll(target, key), transfer.expected(size, data));
      await target.delete(key);
    },
    async op(target, dirs, index) {
      const key = `${dirs.batch}/f${index}`;
      await transfer.write(target, key, size, data);
      expectSize(transfer.readLabel, key, await transfer.readSize(target, key), size);
    },
  };
}

/**
 * The stream's two halves timed apart, for backends whose write and read costs differ (clouds):
 * StreamWrite writes a new object per op; StreamRead reads one object written once per side.
 */
function streamWriteCase(name: string, size: number, data: BenchData): BenchCase {
  return {
    name,
    bytesPerOp: size,
    large: size >= LARGE_THRESHOLD,
    maxOpsPerBatch: 100_000,
    cleanupBatch: true,
    async verify(target, sideDir) {
      await TRANSFERS.stream.write(target, `${sideDir}/verify-write`, Math.min(size, VERIFY_LIMIT), data);
      await target.delete(`${sideDir}/verify-write`);
    },
    async op(target, dirs, index) {
      await TRANSFERS.stream.write(target, `${dirs.batch}/f${index}`, size, data);
    },
  };
}

function streamReadCase(name: string, size: number, data: BenchData): BenchCase {
  const source = (sideDir: string) => `${sideDir}/stream-read-source`;
  return {
    name,
    bytesPerOp: size,
    large: size >= LARGE_THRESHOLD,
    maxOpsPerBatch: 100_000,
    cleanupBatch: false,
    async setupSide(target, sideDir) {
      await TRANSFERS.stream.write(target, source(sideDir), size, data);
    },
    async op(target, dirs) {
      expectSize('stream read', source(dirs.side), await TRANSFERS.stream.readSize(target, source(dirs.side)), size);
    },
  };
}

function listCase(files: number, distribution: string): BenchCase {
  const listDir = (sideDir: string) => `${sideDir}/list`;
  return {
    name: `List${files}`,
    distribution,
    bytesPerOp: 0,
    large: false,
    maxOpsPerBatch: 100_000,
    cleanupBatch: false,
    async setupSide(target, sideDir) {
      for (let i = 0; i < files; i++) await target.put(`${listDir(sideDir)}/f${i}`, Buffer.alloc(0));
    },
    async op(target, dirs) {
      // Every batch lists the same directory, made once by setupSide.
      const dir = listDir(dirs.side);
      const names = await target.list(dir);
      expectSize('list', dir, names.length, files);
    },
  };
}

function deleteCase(files: number, distribution: string): BenchCase {
  return {
    name: `Delete${files}`,
    distribution,
    bytesPerOp: 0,
    large: false,
    maxOpsPerBatch: Math.max(1, Math.floor(MAX_SETUP_FILES_PER_BATCH / files)),
    cleanupBatch: true,
    async prepareBatch(target, dirs, ops) {
      const empty = Buffer.alloc(0);
      for (let op = 0; op < ops; op++) {
        for (let i = 0; i < files; i++) await target.put(`${dirs.batch}/d${op}/f${i}`, empty);
      }
    },
    async op(target, dirs, index) {
      await target.delete(`${dirs.batch}/d${index}`);
    },
  };
}

type CaseDefinition =
  | { kind: 'putGet' | 'stream' | 'streamWrite' | 'streamRead'; size: number; name: string; distribution?: string }
  | { kind: 'list' | 'delete'; files: number; name: string; distribution: string };

/**
 * Distribution's BenchDriver list (PutGet and Stream for empty, 1 KiB, 1 MiB and the large size;
 * List 5/50; Delete 5/50) plus the 256 MiB stream. A large size equal to another size is not repeated.
 */
function caseDefinitions(largeSize: number): CaseDefinition[] {
  const sized = (kind: 'putGet' | 'stream', size: number, distribution?: string): CaseDefinition => ({
    kind,
    size,
    name: `${kind === 'putGet' ? 'PutGet' : 'Stream'}${sizeLabel(size)}`,
    distribution,
  });
  const counted = (kind: 'list' | 'delete', files: number, distribution: string): CaseDefinition => ({
    kind,
    files,
    name: `${kind === 'list' ? 'List' : 'Delete'}${files}`,
    distribution,
  });
  const all: CaseDefinition[] = [
    sized('putGet', 0, 'BenchmarkPutGetEmptyFiles'),
    sized('putGet', KiB, 'BenchmarkPutGet1KBFiles'),
    sized('putGet', MiB, 'BenchmarkPutGet1MBFiles'),
    sized('putGet', largeSize, 'BenchmarkPutGet1GBFiles'),
    sized('stream', 0, 'BenchmarkStreamEmptyFiles'),
    sized('stream', KiB, 'BenchmarkStream1KBFiles'),
    sized('stream', MiB, 'BenchmarkStream1MBFiles'),
    sized('stream', largeSize, 'BenchmarkStream1GBFiles'),
    sized('stream', STREAM_TARGET_SIZE),
    { kind: 'streamWrite', size: STREAM_TARGET_SIZE, name: `StreamWrite${sizeLabel(STREAM_TARGET_SIZE)}` },
    { kind: 'streamRead', size: STREAM_TARGET_SIZE, name: `StreamRead${sizeLabel(STREAM_TARGET_SIZE)}` },
    counted('list', 5, 'BenchmarkList5Files'),
    counted('list', 50, 'BenchmarkList50Files'),
    counted('delete', 5, 'BenchmarkDelete5Files'),
    counted('delete', 50, 'BenchmarkDelete50Files'),
  ];
  const seen = new Set<string>();
  return all.filter((c) => (seen.has(c.name) ? false : (seen.add(c.name), true)));
}

export function benchmarkCases(largeSize: number, data: BenchData): BenchCase[] {
  return caseDefinitions(largeSize).map((d) => {
    switch (d.kind) {
      case 'putGet':
      case 'stream':
        return transferCase(TRANSFERS[d.kind], d.name, d.size, data, d.distribution);
      case 'streamWrite':
        return streamWriteCase(d.name, d.size, data);
      case 'streamRead':
        return streamReadCase(d.name, d.size, data);
      case 'list':
        return listCase(d.files, d.distribution);
      case 'delete':
        return deleteCase(d.files, d.distribution);
    }
  });
}

export interface CatalogEntry {
  name: string;
  distribution?: string;
  bytesPerOp: number;
}

/** Every benchmark (name, distribution's name, content per op) for a given large size, without building any. */
export function benchmarkCatalog(largeSize: number): CatalogEntry[] {
  return caseDefinitions(largeSize).map((d) => ({
    name: d.name,
    ...(d.distribution ? { distribution: d.distribution } : {}),
    bytesPerOp: 'size' in d ? d.size : 0,
  }));
}

/** Case-insensitive match of a name or distribution name against a pattern with `*` wildcards. */
export function matchesPattern(pattern: string, ...names: Array<string | undefined>): boolean {
  const escaped = pattern
    .trim()
    .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*');
  const regex = new RegExp(`^${escaped}$`, 'i');
  return names.some((name) => name !== undefined && regex.test(name));
}
