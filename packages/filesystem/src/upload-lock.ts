/**
 * The lock that makes the changes of an upload's state that must not interleave (open, close,
 * cancel) atomic across processes: a symbolic link created in the upload's directory, whose target
 * names its owner (`stowage-lock.<pid>.<host hash>`). Creating a symlink is one atomic system call
 * that fails if the name exists, it needs no data block (so it still works on a full disk), and
 * it is never followed: only lstat, readlink, rename and unlink touch it. Writes do not take it.
 *
 * A lock whose owner is gone is broken: on this host when its pid no longer runs, elsewhere (a
 * shared filesystem) when it has not been refreshed for LOCK_STALE_MS. Holders refresh it while a
 * long copy runs. Breaking renames the lock aside first, so two processes that both find it stale
 * cannot both take it over.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode } from './fs-util';

const LOCK_NAME = 'lock';
const BROKEN_MARKER = '-broken-';
/** A lock not refreshed for this long is stale whoever holds it. */
export const LOCK_STALE_MS = 30_000;
const REFRESH_MS = 5_000;
const MAX_WAIT_STEP_MS = 20;
const TARGET_PREFIX = 'stowage-lock.';

/** This host, as locks and writer sessions record it: a short hash of its name. */
export const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

export interface UploadLock {
  release(): Promise<void>;
  /** Keeps the lock fresh while `work` runs (for copies that may take longer than LOCK_STALE_MS). */
  keepFresh<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Takes the lock of the upload directory `dir`, waiting while another live holder has it.
 * `makeDir` creates the directory when it is missing.
 */
export async function acquireUploadLock(dir: string, makeDir: () => Promise<void>, signal?: AbortSignal): Promise<UploadLock> {
  const file = `${dir}/${LOCK_NAME}`;
  const target = `${TARGET_PREFIX}${process.pid}.${HOST_TAG}`;
  for (let wait = 1; ; wait = Math.min(wait * 2, MAX_WAIT_STEP_MS)) {
    signal?.throwIfAborted();
    try {
      await fsp.symlink(target, file);
      return heldLock(file);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') {
        await makeDir();
        continue;
      }
      if (code !== 'EEXIST') throw err;
    }
    if (await breakIfStale(file)) continue;
    await sleep(wait, undefined, { signal });
  }
}

function heldLock(file: string): UploadLock {
  return {
    release: async () => {
      try {
        await fsp.unlink(file);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    },
    keepFresh: async (work) => {
      const timer = setInterval(() => {
        const now = new Date();
        fsp.lutimes(file, now, now).catch(() => undefined);
      }, REFRESH_MS);
      try {
        return await work();
      } finally {
        clearInterval(timer);
      }
    },
  };
}

/** Removes the lock at `file` if its holder is gone; true when it did (or the lock vanished). */
async function breakIfStale(file: string): Promise<boolean> {
  let judged: { ino: number; stale: boolean };
  try {
    const [info, target] = await Promise.all([fsp.lstat(file), fsp.readlink(file)]);
    judged = { ino: info.ino, stale: isStale(target, info.mtimeMs) };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true;
    if (errnoCode(err) !== 'EINVAL') throw err;
    judged = { ino: (await fsp.lstat(file)).ino, stale: true }; // not a symlink: not one of our locks
  }
  if (!judged.stale) return false;
  const aside = `${file}${BROKEN_MARKER}${randomBytes(6).toString('hex')}`;
  try {
    await fsp.rename(file, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true; // someone else broke it first
    throw err;
  }
  const taken = await fsp.lstat(aside);
  if (taken.ino !== judged.ino) {
    // Between our look and our rename another process broke the stale lock and took a fresh one:
    // give it back (a hard link to the symlink itself; it fails if yet another lock exists, which then holds).
    await fsp.link(aside, file).catch(() => undefined);
  }
  await fsp.unlink(aside).catch(() => undefined);
  return true;
}

function isStale(target: string, mtimeMs: number): boolean {
  if (Date.now() - mtimeMs > LOCK_STALE_MS) return true;
  if (!target.startsWith(TARGET_PREFIX)) return true;
  const [pidText, host] = target.slice(TARGET_PREFIX.length).split('.');
  const pid = Number(pidText);
  if (host !== HOST_TAG || !Number.isSafeInteger(pid) || pid <= 0) return false;
  return !isRunning(pid);
}

/** Whether `name` is an upload's lock, or one being broken (for purgeUploads). */
export function isLockName(name: string): boolean {
  return name === LOCK_NAME || name.startsWith(LOCK_NAME + BROKEN_MARKER);
}

/** Whether a process with this pid runs on this host. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}
