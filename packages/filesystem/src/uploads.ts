/**
 * Unfinished uploads, and how one upload keeps at most one live writer across processes.
 *
 * The upload of path P is the directory `<staging>/P~upload` (see layout.ts). It holds:
 *  - `data`: the upload's bytes while no writer has it open (after close(), or a crash-free stop);
 *  - `held-<session>`: the bytes while the writer of that session has them open;
 *  - `fenced-<session>`: an empty note that a newer writer took the upload from that session, for
 *    a writer in another process to find (and remove) at its next call;
 *  - `copy-<session>`: a copy being made, renamed to `held-<session>` when complete;
 *  - `lock`: taken while an upload changes hands (open, close, cancel; upload-lock.ts).
 *
 * Opening a writer (under the lock) takes the bytes for a new session: a released `data` is renamed
 * to `held-<new>` (no other process has it open, so the inode is the new writer's alone); a
 * `held-<old>` is renamed to `fenced-<old>`, which fences the old writer at once, copied to the new
 * session, and emptied, because the old writer may still hold the old inode and write into it. A
 * writer commits by renaming its own `held-<session>`, so it can only ever publish its own inode,
 * and nobody else can write into that inode after commit. A writer checks that its `held-<session>`
 * still exists before every write; one that finds it gone is fenced (when its `fenced-` note is
 * there) or purged (when not).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { PathNotFoundError, UploadFencedError, type Semaphore } from '@stowage/core';
import { CREATE_ATTEMPTS, errnoCode, exists, makeDirs, removeDirs } from './fs-util';
import type { Layout } from './layout';
import { HOST_TAG, acquireUploadLock, isLockName, isRunning, type UploadLock } from './upload-lock';
import type { WriterUploads } from './writer';

const RELEASED = 'data';
const HELD = 'held-';
const FENCED = 'fenced-';
const COPY = 'copy-';

/** An entry read from the upload's directory was gone when we acted on it (a lock-free commit took it): look again. */
class Vanished extends Error {}

/** Runs a rename/stat/unlink of an entry read earlier, turning its ENOENT into Vanished. */
async function ofEntry<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new Vanished();
    throw err;
  }
}

/** A writer session's name: this host, this process and a random part, so a fencer can tell whether its owner still runs. */
function newSession(): string {
  return `${HOST_TAG}.${process.pid}.${randomBytes(6).toString('hex')}`;
}

/** True when `session` belongs to a process of this host that no longer runs. */
function ownerIsGone(session: string): boolean {
  const [host, pidText] = session.split('.');
  const pid = Number(pidText);
  return host === HOST_TAG && Number.isSafeInteger(pid) && pid !== process.pid && !isRunning(pid);
}

/** How a live writer of this process is told directly that it was fenced. */
interface Fence {
  fenced: boolean;
}

// Live writers of this process by session, through their Fence (weak: a writer dropped without
// close is collected with its Fence, and its session then counts as gone).
const liveSessions = new Map<string, WeakRef<Fence>>();

/**
 * Runs `fn` while no other state change of the same upload runs in this process, so that the
 * file lock (which serialises processes) is never contended from inside one process.
 */
const localQueues = new Map<string, Promise<void>>();
async function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = localQueues.get(key);
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous ? previous.then(() => mine) : mine;
  localQueues.set(key, tail);
  if (previous) await previous;
  try {
    return await fn();
  } finally {
    release();
    if (localQueues.get(key) === tail) localQueues.delete(key);
  }
}

export interface OpenedUpload {
  session: string;
  dir: string;
  handle: FileHandle;
  size: number;
  /** Set when a newer writer of this process fences this one. */
  fence: Fence;
}

/** What the uploads need from the driver. */
export interface UploadHost {
  readonly driverName: string;
  readonly layout: Layout;
  readonly limiter: Semaphore;
  /** Throws unless the staging area is a real directory inside the root (never a symlink). */
  checkStaging(): Promise<void>;
}

/** The unfinished uploads under the staging area; the writers' `uploads` (WriterUploads). */
export class FilesystemUploads implements WriterUploads {
  constructor(private readonly host: UploadHost) {}

  /**
   * Opens the upload of `path` for a new writer session, fencing every earlier writer: append=false
   * discards what is there; append=true continues the upload, or a copy of the committed content.
   */
  async open(path: string, append: boolean, signal?: AbortSignal): Promise<OpenedUpload> {
    await this.host.checkStaging();
    const dir = this.host.layout.uploadDir(path);
    const session = newSession();
    return this.changeState(
      dir,
      signal,
      async (lock) => {
        let opened: { handle: FileHandle; size: number } | undefined;
        // Commits take no lock: an entry read here may be gone when acted on. Look again then.
        for (let attempt = 1; opened === undefined; attempt++) {
          try {
            opened = await this.openSession(path, dir, session, append, lock);
          } catch (err) {
            if (!(err instanceof Vanished) || attempt >= CREATE_ATTEMPTS)
              throw err instanceof Vanished ? new Error(`${dir} kept changing under the lock`) : err;
          }
        }
        // Registered under the lock: a newer writer of this process must find it live.
        const fence: Fence = { fenced: false };
        liveSessions.set(session, new WeakRef(fence));
        return { session, dir, fence, ...opened };
      },
      { createFirst: !append, keep: true },
    );
  }

  private async openSession(path: string, dir: string, session: string, append: boolean, lock: UploadLock): Promise<{ handle: FileHandle; size: number }> {
    const entries = await this.entries(dir);
    if (!append) {
      await this.discard(dir, entries);
      return { handle: await fsp.open(`${dir}/${HELD}${session}`, 'wx', 0o666), size: 0 };
    }
    if (entries.released) {
      await this.discard(dir, { ...entries, released: false });
      await ofEntry(fsp.rename(`${dir}/${RELEASED}`, `${dir}/${HELD}${session}`));
      return this.openHeld(dir, session);
    }
    if (entries.held.length > 0) return this.takeOver(dir, entries.held, session, lock);
    return this.copyCommitted(path, dir, session, lock);
  }

  /**
   * Fails unless `session` still holds its upload: UploadFencedError, or PathNotFoundError when
   * purged. The cheap check (one lstat) runs before every write; only a miss takes the lock.
   */
  async requireHeld(path: string, dir: string, session: string, operation: string): Promise<void> {
    if (await exists(`${dir}/${HELD}${session}`)) return;
    await this.changeState(dir, undefined, () => this.requireHeldLocked(path, dir, session, operation));
  }

  /** requireHeld, for callers that hold the lock. */
  private async requireHeldLocked(path: string, dir: string, session: string, operation: string): Promise<void> {
    if (await exists(`${dir}/${HELD}${session}`)) return;
    throw await this.whyGone(path, dir, session, operation);
  }

  /** close(): the bytes become `data` again, for the next writer to take without a copy. */
  async release(path: string, dir: string, session: string, closeHandle: () => Promise<void>): Promise<void> {
    await this.changeState(dir, undefined, async () => {
      await closeHandle();
      try {
        await fsp.rename(`${dir}/${HELD}${session}`, `${dir}/${RELEASED}`);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        const why = await this.whyGone(path, dir, session, 'close');
        if (!(why instanceof PathNotFoundError)) throw why; // a purged upload closes quietly
      }
    });
    liveSessions.delete(session);
  }

  /**
   * commit(): `publish` renames the session's own `held-` file into place. No lock: the rename is
   * atomic against a take-over's rename of the same name, so exactly one of them wins; when the
   * take-over did, `publish` calls `sourceGone`, which says why (fenced or purged).
   */
  async commit<T>(path: string, dir: string, session: string, publish: (file: string, sourceGone: () => Promise<Error>) => Promise<T>): Promise<T> {
    const result = await publish(`${dir}/${HELD}${session}`, () => this.changeState(dir, undefined, () => this.whyGone(path, dir, session, 'commit')));
    liveSessions.delete(session);
    await this.removeIfEmpty(dir, []);
    return result;
  }

  /** cancel(): removes the session's bytes; a fenced writer's cancel changes nothing. */
  async cancel(path: string, dir: string, session: string): Promise<void> {
    await this.changeState(dir, undefined, async () => {
      try {
        await fsp.unlink(`${dir}/${HELD}${session}`);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        const why = await this.whyGone(path, dir, session, 'cancel');
        if (!(why instanceof PathNotFoundError)) throw why; // a purged upload is cancelled already
      }
    });
    liveSessions.delete(session);
  }

  /** A fenced writer of this process gives up its session without touching the upload. */
  forget(session: string): void {
    liveSessions.delete(session);
  }

  /**
   * Runs `change` under both locks (this process's queue, then the file lock); afterwards removes
   * the upload directory if it is empty, unless `keep` says the change leaves something in it.
   * `createFirst` makes the directory before asking for the lock (an upload on a new path).
   */
  private async changeState<T>(
    dir: string,
    signal: AbortSignal | undefined,
    change: (lock: UploadLock) => Promise<T>,
    options: { createFirst?: boolean; keep?: boolean } = {},
  ): Promise<T> {
    return serialised(dir, () =>
      this.host.limiter.run(async () => {
        const created: string[] = [];
        const makeDir = async () => {
          try {
            await fsp.mkdir(dir);
            created.push(dir);
          } catch (err) {
            if (errnoCode(err) === 'EEXIST') return;
            if (errnoCode(err) !== 'ENOENT') throw err;
            created.push(...(await makeDirs(dir)));
          }
        };
        let lock: UploadLock;
        try {
          if (options.createFirst) await makeDir();
          lock = await acquireUploadLock(dir, makeDir, signal);
        } catch (err) {
          await this.removeIfEmpty(dir, created);
          throw err;
        }
        let failed = false;
        try {
          return await change(lock);
        } catch (err) {
          failed = true;
          throw err;
        } finally {
          await lock.release();
          if (failed || !options.keep) await this.removeIfEmpty(dir, created);
        }
      }),
    );
  }

  /** Removes the upload directory once empty (commit, cancel, a failed open), with parents made for it. */
  private async removeIfEmpty(dir: string, created: string[]): Promise<void> {
    try {
      await fsp.rmdir(dir);
      await removeDirs(created.filter((d) => d !== dir));
      await this.pruneMirrored(dirname(dir));
    } catch {
      // not empty: the upload (or a fenced note, or another process's lock) is still there
    }
  }

  /** Mirrored staging directories of long paths are removed once empty. */
  private async pruneMirrored(dir: string): Promise<void> {
    const staging = this.host.layout.staging;
    for (let current = dir; current.length > staging.length && current.startsWith(`${staging}/`); current = dirname(current)) {
      try {
        await fsp.rmdir(current);
      } catch {
        return;
      }
    }
  }

  private async entries(dir: string): Promise<{ released: boolean; held: string[] }> {
    const names = await fsp.readdir(dir);
    return {
      released: names.includes(RELEASED),
      held: names.filter((n) => n.startsWith(HELD)).map((n) => n.slice(HELD.length)),
    };
  }

  /** append=false: every earlier session is fenced and its bytes go. */
  private async discard(dir: string, entries: { released: boolean; held: string[] }): Promise<void> {
    if (entries.released) await unlinkIfExists(`${dir}/${RELEASED}`);
    for (const old of entries.held) {
      try {
        if ((await this.fenceSession(dir, old)) === 'noted') await fsp.truncate(`${dir}/${FENCED}${old}`, 0);
        else await unlinkIfExists(`${dir}/${HELD}${old}`);
      } catch (err) {
        if (!(err instanceof Vanished)) throw err; // committed meanwhile: nothing to discard
      }
    }
  }

  /**
   * append=true while another session holds the upload. A session whose process is gone has no
   * open file: its bytes are taken as they are. A live one may still write into its inode, so its
   * bytes are copied for the new session, and the old inode emptied.
   */
  private async takeOver(dir: string, held: string[], session: string, lock: UploadLock): Promise<{ handle: FileHandle; size: number }> {
    // Only one session ever holds an upload; should there be more, the largest one continues.
    const sizes = await Promise.all(held.map(async (old) => ({ old, size: (await ofEntry(fsp.stat(`${dir}/${HELD}${old}`))).size })));
    sizes.sort((a, b) => b.size - a.size);
    const from = sizes[0]!.old;
    await this.discard(dir, { released: false, held: sizes.slice(1).map((s) => s.old) });

    const fenced = await this.fenceSession(dir, from);
    if (fenced === 'gone') {
      await ofEntry(fsp.rename(`${dir}/${HELD}${from}`, `${dir}/${HELD}${session}`));
      return this.openHeld(dir, session);
    }
    let source = `${dir}/${FENCED}${from}`;
    if (fenced === 'told') {
      source = `${dir}/${COPY}${session}.from`;
      await ofEntry(fsp.rename(`${dir}/${HELD}${from}`, source));
    }
    try {
      await this.copyToSession(source, dir, session, lock);
    } catch (err) {
      // Undo the fence: the old bytes stay where they were, so a failed take-over loses nothing.
      // (Under the lock, so the old writer cannot have removed its note meanwhile.)
      await fsp.rename(source, `${dir}/${HELD}${from}`).catch(() => undefined);
      throw err;
    }
    if (fenced === 'noted') await fsp.truncate(source, 0);
    else await unlinkIfExists(source);
    return this.openHeld(dir, session);
  }

  /**
   * Fences the session `old`. 'told': a live writer of this process, told directly. 'noted': a
   * writer of another process that may still run: its `held-` file is renamed to the
   * `fenced-<old>` note it will find. 'gone': its process no longer runs (or it was dropped
   * without close), so nobody can write into its file any more; the file stays at `held-<old>`.
   */
  private async fenceSession(dir: string, old: string): Promise<'told' | 'noted' | 'gone'> {
    const local = liveSessions.get(old)?.deref();
    liveSessions.delete(old);
    if (local) {
      local.fenced = true;
      return 'told';
    }
    if (old.startsWith(`${HOST_TAG}.${process.pid}.`) || ownerIsGone(old)) return 'gone';
    await ofEntry(fsp.rename(`${dir}/${HELD}${old}`, `${dir}/${FENCED}${old}`));
    return 'noted';
  }

  private async openHeld(dir: string, session: string): Promise<{ handle: FileHandle; size: number }> {
    const handle = await fsp.open(`${dir}/${HELD}${session}`, 'r+');
    try {
      // An upload being resumed counts as fresh for purgeUploads.
      const now = new Date();
      const [info] = await Promise.all([handle.stat(), handle.utimes(now, now)]);
      return { handle, size: info.size };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Copies `source` (copy-on-write where the filesystem can) to `copy-<session>`, then makes it the
   * session's `held-` file; a failed copy leaves nothing behind.
   */
  private async copyToSession(source: string, dir: string, session: string, lock: UploadLock): Promise<void> {
    const copy = `${dir}/${COPY}${session}`;
    try {
      await lock.keepFresh(() => fsp.copyFile(source, copy, fs.constants.COPYFILE_FICLONE));
      await fsp.rename(copy, `${dir}/${HELD}${session}`);
    } catch (err) {
      await unlinkIfExists(copy);
      throw err;
    }
  }

  /** append=true with no upload: the committed content, copied (copy-on-write where the filesystem can). */
  private async copyCommitted(path: string, dir: string, session: string, lock: UploadLock): Promise<{ handle: FileHandle; size: number }> {
    const committed = this.host.layout.full(path);
    const notFound = () => new PathNotFoundError(this.host.driverName, path, { operation: 'writer' });
    let info: fs.Stats;
    try {
      info = await fsp.stat(committed);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound();
      throw err;
    }
    if (info.isDirectory()) throw notFound();
    try {
      await this.copyToSession(committed, dir, session, lock);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && !(await exists(committed))) throw notFound(); // deleted meanwhile
      throw err;
    }
    return this.openHeld(dir, session);
  }

  /** Why a session's `held-` file is gone (call under the lock): fenced (its note is there, and is removed now) or purged. */
  private async whyGone(path: string, dir: string, session: string, operation: string): Promise<Error> {
    try {
      await fsp.unlink(`${dir}/${FENCED}${session}`);
      return new UploadFencedError(this.host.driverName, path, operation);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw err;
    }
    return new PathNotFoundError(this.host.driverName, path, {
      operation,
      cause: new Error('the unfinished upload was removed (purgeUploads) before this writer finished'),
    });
  }
}

async function unlinkIfExists(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/** The kinds of entries of an upload directory, for purgeUploads and leftovers. */
export function uploadEntryKind(name: string): 'bytes' | 'note' | 'copy' | 'lock' | undefined {
  if (name === RELEASED || name.startsWith(HELD)) return 'bytes';
  if (name.startsWith(FENCED)) return 'note';
  if (name.startsWith(COPY)) return 'copy';
  if (isLockName(name)) return 'lock';
  return undefined;
}
