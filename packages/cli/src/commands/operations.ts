/**
 * The operations on stored data: ls, stat, cat, put, rm, mv, du, walk, purge-uploads. Each takes
 * the driver and prints a human table, or JSON with --json.
 */
import { createReadStream } from 'node:fs';
import { stat as fsStat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isPathNotFound, Semaphore, type FileInfo, type StorageDriver } from '@stowage/core';
import { formatBytes } from '@stowage/conformance/bench';
import { UsageError } from '../errors';
import { formatTime, type Output } from '../output';
import { byteProgress } from '../progress';

/** stat calls in flight at once for `ls`. */
const LS_STAT_CONCURRENCY = 16;

interface FileInfoJson {
  path: string;
  size: number;
  modTime: string;
  isDir: boolean;
}

function infoJson(info: FileInfo): FileInfoJson {
  return { path: info.path, size: info.size, modTime: info.modTime.toISOString(), isDir: info.isDir };
}

function infoRow(info: FileInfo): string[] {
  return [info.isDir ? 'dir' : 'file', info.isDir ? '-' : String(info.size), formatTime(info.modTime), info.path];
}

const INFO_HEADER = ['type', 'size', 'modified (UTC)', 'path'];

/** `ls [PATH]`: the direct children of a directory with their type, size and modification time. */
export async function listCommand(driver: StorageDriver, path: string, output: Output): Promise<void> {
  const children = await driver.list(path);
  const limit = new Semaphore(LS_STAT_CONCURRENCY);
  const infos = await Promise.all(
    children.map((child) =>
      limit.run(async () => {
        try {
          return await driver.stat(child);
        } catch (err) {
          if (isPathNotFound(err)) return undefined; // removed since the listing
          throw err;
        }
      }),
    ),
  );
  const found = infos.filter((info): info is FileInfo => info !== undefined);
  if (output.json) output.jsonValue(found.map(infoJson));
  else if (found.length === 0) output.line(`(${path} is empty)`);
  else output.table(INFO_HEADER, found.map(infoRow));
}

/** `stat PATH`. */
export async function statCommand(driver: StorageDriver, path: string, output: Output): Promise<void> {
  const info = await driver.stat(path);
  if (output.json) {
    output.jsonValue(infoJson(info));
    return;
  }
  output.line(`path      ${info.path}`);
  output.line(`type      ${info.isDir ? 'directory' : 'file'}`);
  if (!info.isDir) output.line(`size      ${info.size} (${formatBytes(info.size)})`);
  output.line(`modified  ${info.modTime.toISOString()}`);
}

/** `cat PATH [--offset N]`: the content, streamed to stdout. */
export async function catCommand(driver: StorageDriver, path: string, offset: number, output: Output): Promise<void> {
  const reader = await driver.reader(path, offset);
  try {
    await pipeline(reader, output.streams.stdout, { end: false });
  } catch (err) {
    // The reader went away (`stowage cat ... | head`): not a failure of the command.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    reader.destroy();
  }
}

/** Counts the bytes going through, for the progress bar and the summary. */
function counter(onBytes: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

/**
 * `put PATH [FILE]`: streams FILE (or stdin, for `-` or no FILE) through the driver's resumable
 * writer and commits. A failed or interrupted put cancels the upload, leaving nothing behind.
 */
export async function putCommand(driver: StorageDriver, path: string, source: string | undefined, stdin: Readable, output: Output): Promise<void> {
  const fromStdin = source === undefined || source === '-';
  let total: number | undefined;
  if (!fromStdin) {
    const info = await fsStat(source).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`put: cannot read ${source} (${err.code ?? err.message})`);
    });
    if (!info.isFile()) throw new UsageError(`put: ${source} is not a file`);
    total = info.size;
  }
  const input = fromStdin ? stdin : createReadStream(source);
  const writer = await driver.writer(path, false);
  const progress = byteProgress(output, `put ${path}`, total);
  let written = 0;
  try {
    await pipeline(
      input,
      counter((bytes) => {
        written += bytes;
        progress.advance(bytes);
      }),
      writer.asWritable({ onFinish: 'commit' }),
    );
  } catch (err) {
    progress.stop();
    await writer.cancel().catch(() => undefined); // the write's own error is the one to report
    throw err;
  }
  progress.stop();
  if (output.json) output.jsonValue({ path, size: written });
  else output.line(`${path}: ${written} bytes (${formatBytes(written)}) written and committed`);
}

/** `rm PATH`: deletes a file or a directory with everything below it. */
export async function removeCommand(driver: StorageDriver, path: string, output: Output): Promise<void> {
  await driver.delete(path);
  if (output.json) output.jsonValue({ deleted: path });
  else output.line(`deleted ${path}`);
}

/** `mv SOURCE DEST`. */
export async function moveCommand(driver: StorageDriver, source: string, dest: string, output: Output): Promise<void> {
  await driver.move(source, dest);
  if (output.json) output.jsonValue({ moved: source, to: dest });
  else output.line(`moved ${source} to ${dest}`);
}

interface Usage {
  files: number;
  bytes: number;
}

/** `du [PATH]`: files and bytes below PATH, per direct child and in total, from one walk. */
export async function diskUsageCommand(driver: StorageDriver, path: string, output: Output): Promise<void> {
  const info = await driver.stat(path);
  const total: Usage = { files: 0, bytes: 0 };
  const byChild = new Map<string, Usage>();
  if (!info.isDir) {
    total.files = 1;
    total.bytes = info.size;
  } else {
    const base = path === '/' ? '' : path;
    await driver.walk(path, (entry) => {
      // The direct child of `path` this entry lies under.
      const child = `${base}/${entry.path.slice(base.length + 1).split('/')[0]}`;
      if (!byChild.has(child)) byChild.set(child, { files: 0, bytes: 0 });
      if (entry.isDir) return;
      const usage = byChild.get(child)!;
      usage.files++;
      usage.bytes += entry.size;
      total.files++;
      total.bytes += entry.size;
    });
  }
  if (output.json) {
    output.jsonValue({ path, files: total.files, bytes: total.bytes, children: [...byChild].map(([child, usage]) => ({ path: child, ...usage })) });
    return;
  }
  const row = (name: string, usage: Usage) => [name, String(usage.files), String(usage.bytes), formatBytes(usage.bytes)];
  output.table(['path', 'files', 'bytes', 'size'], [...[...byChild].map(([child, usage]) => row(child, usage)), row(`${path} (total)`, total)]);
}

/** `walk [PATH]`: every file and directory below PATH in walk order, printed as they come. */
export async function walkCommand(driver: StorageDriver, path: string, startAfter: string | undefined, output: Output): Promise<void> {
  // JSON: one array, written entry by entry so a large tree streams instead of piling up.
  let first = true;
  if (output.json) output.write('[');
  await driver.walk(
    path,
    (info) => {
      if (output.json) {
        output.write(`${first ? '\n  ' : ',\n  '}${JSON.stringify(infoJson(info))}`);
        first = false;
      } else {
        output.line(infoRow(info).join('\t'));
      }
    },
    startAfter !== undefined ? { startAfterHint: startAfter } : {},
  );
  if (output.json) output.write(first ? ']\n' : '\n]\n');
}

/** `7d`, `12h`, `30m`, `90s`, `1h30m` -> milliseconds. */
function parseAge(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(trimmed)) throw new UsageError(`not an age: ${JSON.stringify(text)} (examples: 7d, 12h, 1h30m, 90s)`);
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(match[1]) * units[match[2]!]!;
  return total;
}

/** `purge-uploads --older-than AGE`: removes unfinished uploads last written before now - AGE. */
export async function purgeUploadsCommand(driver: StorageDriver, olderThan: string, output: Output): Promise<void> {
  const cutoff = new Date(Date.now() - parseAge(olderThan));
  const removed = await driver.purgeUploads(cutoff);
  if (output.json) output.jsonValue({ removed, olderThan: cutoff.toISOString() });
  else output.line(`removed ${removed} unfinished upload${removed === 1 ? '' : 's'} last written before ${cutoff.toISOString()}`);
}
