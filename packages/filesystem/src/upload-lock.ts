/**
 * The lock that makes every change of an upload's state (open, close, commit, cancel) atomic
 * across processes: a file created with O_EXCL in the upload's directory, holding its owner's pid
 * and host. Writes do not take it; only the short state changes do.
 *
 * A lock whose owner is gone is broken: on this host when its pid no longer runs, elsewhere (a
 * shared filesystem) when it has not been refreshed for LOCK_STALE_MS. Holders refresh it while a
 * long copy runs. Breaking renames the lock aside first, so two processes that both find it stale
 * cannot both take it over.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, isNoSpace } from './fs-util';

export const LOCK_NAME = 'lock';
/** A lock not refreshed for this long is stale whoever holds it. */
export const LOCK_STALE_MS = 30_000;
const REFRESH_MS = 5_000;
const MAX_WAIT_STEP_MS = 20;

const HOST = hostname();

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
  const content = `${process.pid}\n${HOST}\n`;
  for (let wait = 1; ; wait = Math.min(wait * 2, MAX_WAIT_STEP_MS)) {
    signal?.throwIfAborted();
    try {
      await createLockFile(file, content);
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

/**
 * Creates the lock (O_EXCL), then records its owner. On a full disk the owner may not fit (the
 * file itself needs only an inode): the lock is kept empty then, which others judge by age alone,
 * so that cancel and close still work when the disk is full.
 */
async function createLockFile(file: string, content: string): Promise<void> {
  const handle = await fsp.open(file, 'wx');
  try {
    await handle.writeFile(content);
  } catch (err) {
    if (!isNoSpace(err)) {
      await handle.close().catch(() => undefined);
      await fsp.unlink(file).catch(() => undefined);
      throw err;
    }
  }
  await handle.close();
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
        fsp.utimes(file, now, now).catch(() => undefined);
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
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true;
    throw err;
  }
  let judged: { ino: number; stale: boolean };
  try {
    const [info, text] = await Promise.all([handle.stat(), handle.readFile('utf8')]);
    judged = { ino: info.ino, stale: isStale(text, info.mtimeMs) };
  } finally {
    await handle.close();
  }
  if (!judged.stale) return false;
  const aside = `${file}-broken-${randomBytes(6).toString('hex')}`;
  try {
    await fsp.rename(file, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true; // someone else broke it first
    throw err;
  }
  const taken = await fsp.stat(aside);
  if (taken.ino !== judged.ino) {
    // Between our look and our rename another process broke the stale lock and took a fresh one:
    // give it back (link fails if yet another lock exists, which then holds).
    await fsp.link(aside, file).catch(() => undefined);
  }
  await fsp.unlink(aside).catch(() => undefined);
  return true;
}

function isStale(text: string, mtimeMs: number): boolean {
  if (Date.now() - mtimeMs > LOCK_STALE_MS) return true;
  const [pidText, host] = text.split('\n');
  const pid = Number(pidText);
  // A lock being written right now has no content yet: not stale.
  if (host !== HOST || !Number.isSafeInteger(pid) || pid <= 0) return false;
  return !isRunning(pid);
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

/** This host, as locks and session names record it. */
export function thisHost(): string {
  return HOST;
}
