/**
 * Small filesystem primitives shared by the driver and its writer. The hot paths try the
 * operation first and create missing directories only when it fails with ENOENT, and every
 * "create something inside a directory" retries: another operation may prune the directory,
 * once empty, between our mkdir and our create.
 */
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';

/** How often a create-in-directory is retried when the directory keeps vanishing under it. */
export const CREATE_ATTEMPTS = 8;

export function errnoCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Creates `dir` and whichever of its parents are missing, one level at a time, and
 * returns the directories it created, outermost first. Unlike `mkdir({ recursive: true })`, which
 * reports ENOSPC as ENOENT, the real error comes through; and the caller can remove exactly what
 * it created if the operation they were for fails (see removeDirs).
 */
export async function makeDirs(dir: string): Promise<string[]> {
  const created: string[] = [];
  try {
    for (let attempt = 1; ; attempt++) {
      const missing: string[] = [];
      for (let current = dir; current !== dirname(current); current = dirname(current)) {
        try {
          const info = await fsp.stat(current);
          if (!info.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), { code: 'ENOTDIR', path: current });
          break;
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err;
          missing.unshift(current);
        }
      }
      try {
        for (const current of missing) {
          try {
            await fsp.mkdir(current);
            created.push(current);
          } catch (err) {
            if (errnoCode(err) !== 'EEXIST') throw err; // made meanwhile by someone else: not ours to remove
          }
        }
        return created;
      } catch (err) {
        // ENOENT: a parent was pruned between our look and our mkdir; look again.
        if (errnoCode(err) !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await removeDirs(created);
    throw err;
  }
}

/** Removes directories `makeDirs` created, innermost first, as long as they are empty. */
export async function removeDirs(created: readonly string[]): Promise<void> {
  for (const dir of [...created].reverse()) {
    try {
      await fsp.rmdir(dir);
    } catch {
      return; // not empty (someone else uses it now) or already gone
    }
  }
}

/**
 * Opens `file` with `flags` (which must create it), creating its directory if missing; returns the
 * handle and the directories it created.
 */
export async function openCreating(file: string, flags: string): Promise<{ handle: fsp.FileHandle; created: string[] }> {
  const created: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { handle: await fsp.open(file, flags, 0o666), created };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) {
        await removeDirs(created);
        throw err;
      }
    }
    created.push(...(await makeDirs(dirname(file))));
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

/**
 * The directory fsync behind durable renames. An object, so that tests can inject the faults a
 * real disk rarely shows on demand (EIO on the fsync of a directory).
 */
export const durability = {
  async syncDir(dir: string): Promise<void> {
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
  },
};

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

/** Whether anything (a file, a directory, a symlink) is at `file`. */
export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}
