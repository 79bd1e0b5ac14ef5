import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { BaseFileWriter, PathNotFoundError, type FileWriterInit, type Semaphore } from '@stowage/core';
import { errnoCode, pruneEmptyDirs, writeAll } from './fs-util';

/** What the writer needs from its driver, kept narrow so the two stay decoupled. */
export interface WriterHost {
  readonly limiter: Semaphore;
  readonly syncOnCommit: boolean;
  readonly stagingRoot: string;
  /** Renames `stagedFile` to the committed file of `path` (creating parents), then syncs if asked. */
  publish(stagedFile: string, path: string, operation: string): Promise<void>;
}

// ---- per-process bookkeeping, shared by every driver instance (keys are absolute file names) ----

const locks = new Map<string, Promise<void>>();

/**
 * Runs `fn` while no other writer operation on the same upload runs in this process: opening,
 * superseding, committing, cancelling and closing an upload each check and then rename or
 * unlink, which must not interleave.
 */
export async function withUploadLock<T>(uploadFile: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(uploadFile);
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous ? previous.then(() => mine) : mine;
  locks.set(uploadFile, tail);
  if (previous) await previous;
  try {
    return await fn();
  } finally {
    release();
    if (locks.get(uploadFile) === tail) locks.delete(uploadFile);
  }
}

/**
 * Open writers of this process, by the staged file their bytes are in (an upload file or an
 * aside file). Weak, so that a writer its caller dropped without closing it is collected (its
 * file handle with it) instead of being kept here forever.
 */
const owners = new Map<string, Set<WeakRef<FilesystemFileWriter>>>();

function liveOwners(file: string): FilesystemFileWriter[] {
  const refs = owners.get(file);
  if (!refs) return [];
  const live: FilesystemFileWriter[] = [];
  for (const ref of refs) {
    const writer = ref.deref();
    if (writer) live.push(writer);
    else refs.delete(ref);
  }
  if (refs.size === 0) owners.delete(file);
  return live;
}

/** True if writers of this process are still writing into `uploadFile`. */
export function hasOpenWriters(uploadFile: string): boolean {
  return liveOwners(uploadFile).length > 0;
}

/**
 * Discards the upload at `uploadFile` for a new writer(P, false). Writers of this process still
 * open on it keep their bytes: the file is renamed to `asideFile()` and they follow it, so each
 * can still commit its own version (as the in-memory reference driver allows). With no such
 * writer it is simply deleted. Call under withUploadLock.
 */
export async function supersedeUpload(uploadFile: string, asideFile: () => string): Promise<void> {
  const open = liveOwners(uploadFile);
  const refs = owners.get(uploadFile);
  owners.delete(uploadFile);
  if (refs && open.length > 0) {
    const aside = asideFile();
    try {
      await fsp.rename(uploadFile, aside);
      owners.set(aside, refs);
      for (const writer of open) writer.movedTo(aside);
      return;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err; // gone already (purged): nothing to keep
    }
  }
  try {
    await fsp.unlink(uploadFile);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/**
 * A writer over the upload file `<staging>P~upload`. Bytes go straight to the file at explicit
 * positions (no buffering of our own, so close() has nothing to flush and a crash keeps every
 * byte the kernel accepted); commit is a rename, so readers see the old content or the new.
 */
export class FilesystemFileWriter extends BaseFileWriter {
  private handle: FileHandle | undefined;
  private position: number;
  /** Where this writer's bytes are: the upload file, or an aside file once superseded. */
  private stagedFile: string;

  /** Call under withUploadLock(uploadFile). */
  constructor(
    init: FileWriterInit,
    handle: FileHandle,
    private readonly uploadFile: string,
    /** The staged file's inode, if known yet: if it was removed or replaced meanwhile, commit refuses to publish. */
    private inode: number | undefined,
    private readonly host: WriterHost,
  ) {
    super(init);
    this.handle = handle;
    this.position = init.size;
    this.stagedFile = uploadFile;
    let refs = owners.get(uploadFile);
    if (!refs) owners.set(uploadFile, (refs = new Set()));
    refs.add(new WeakRef(this));
  }

  /** @internal supersedeUpload moved this writer's bytes. */
  movedTo(file: string): void {
    this.stagedFile = file;
  }

  protected async _write(chunk: Buffer): Promise<void> {
    const handle = this.handle!;
    const release = await this.host.limiter.acquire();
    try {
      await writeAll(handle, chunk, this.position);
    } finally {
      release();
    }
    this.position += chunk.byteLength;
  }

  protected async _close(): Promise<void> {
    await this.locked(async () => {
      const last = this.forget();
      // A superseded upload can never be resumed (the path's upload is the newer one): once its
      // last writer closes, drop it.
      const drop = last && this.stagedFile !== this.uploadFile && (await this.ownsStagedFile());
      await this.closeHandle();
      if (drop) await this.removeStaged();
    });
  }

  protected async _commit(): Promise<void> {
    await this.locked(async () => {
      const handle = this.handle!;
      if (!(await this.ownsStagedFile())) {
        throw new PathNotFoundError(this.driverName, this.path, {
          operation: 'commit',
          cause: new Error('the staged upload was removed (purgeUploads, or a writer in another process) before commit'),
        });
      }
      if (this.host.syncOnCommit) await handle.datasync();
      await this.closeHandle();
      await this.host.publish(this.stagedFile, this.path, 'commit');
      this.forget();
      await pruneEmptyDirs(dirname(this.stagedFile), this.host.stagingRoot);
    });
  }

  protected async _cancel(): Promise<void> {
    await this.locked(async () => {
      // Not ours any more (purged, or replaced from another process): leave the newer upload alone.
      const ours = await this.ownsStagedFile();
      await this.closeHandle();
      this.forget();
      if (ours) await this.removeStaged();
    });
  }

  private locked(fn: () => Promise<void>): Promise<void> {
    return withUploadLock(this.uploadFile, () => this.host.limiter.run(fn));
  }

  /** Drops this writer from the bookkeeping; true if no other open writer shares its staged file. */
  private forget(): boolean {
    const refs = owners.get(this.stagedFile);
    if (!refs) return true;
    for (const ref of refs) if (ref.deref() === this) refs.delete(ref);
    return liveOwners(this.stagedFile).length === 0;
  }

  private async removeStaged(): Promise<void> {
    try {
      await fsp.unlink(this.stagedFile);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    await pruneEmptyDirs(dirname(this.stagedFile), this.host.stagingRoot);
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  /** Whether `stagedFile` is still the file this writer writes into (one round trip: both stats at once). */
  private async ownsStagedFile(): Promise<boolean> {
    const handle = this.handle;
    const [mine, current] = await Promise.all([
      this.inode ?? handle?.stat().then((info) => info.ino),
      fsp.stat(this.stagedFile).then(
        (info) => info.ino,
        (err: unknown) => {
          if (errnoCode(err) === 'ENOENT') return undefined;
          throw err;
        },
      ),
    ]);
    // Remembered: after a failed commit the handle is closed, and cancel still needs to know.
    this.inode = mine;
    return mine !== undefined && mine === current;
  }
}
