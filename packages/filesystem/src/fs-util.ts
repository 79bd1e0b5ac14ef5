/**
 * Small filesystem primitives shared by the driver and its writer. The hot paths try the
 * operation first and create missing directories only when it fails with ENOENT, and every
 * "create something inside a directory" retries: another operation may prune the directory,
 * once empty, between our mkdir and our create.
 */
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import * as fse from 'fs-extra';

/** How often a create-in-directory is retried when the directory keeps vanishing under it. */
export const CREATE_ATTEMPTS = 8;

export function errnoCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Opens `file` with `flags` (which must create it), creating its directory if missing. */
export async function openCreating(file: string, flags: string): Promise<fsp.FileHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fsp.open(file, flags, 0o666);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw err;
    }
    await fse.ensureDir(dirname(file));
  }
}

/** Writes all of `data` at `position`, however many write calls it takes. */
export async function writeAll(handle: fsp.FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await handle.write(data, done, data.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Removes `dir` and then each parent while they are empty, stopping at (and never removing)
 * `stopAt`. Best effort: a directory that is not empty, already gone or not ours ends it.
 */
export async function pruneEmptyDirs(dir: string, stopAt: string): Promise<void> {
  for (let current = dir; current.length > stopAt.length && current.startsWith(`${stopAt}/`); current = dirname(current)) {
    try {
      await fsp.rmdir(current);
    } catch {
      return;
    }
  }
}

/** fsync a directory so that a rename into it survives a power loss. */
export async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(dir, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems cannot fsync a directory; the rename is as durable as they make it.
    if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'EBADF' && errnoCode(err) !== 'EPERM') throw err;
  } finally {
    await handle.close();
  }
}

/** Entries of a directory with their types, or undefined when it does not exist. */
export async function readDirIfExists(dir: string): Promise<import('node:fs').Dirent[] | undefined> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
