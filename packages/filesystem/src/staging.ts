/**
 * The staging area (`<root>/.stowage~staging`), where unfinished uploads and putContent's temp
 * files live until they are published: its safety check, what it holds (leftovers) and the purge
 * of what was abandoned there.
 */
import type * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { ROOT, StorageDriverError, isSameOrBelow, joinPath, throwIfAborted, type Semaphore } from '@stowage/core';
import { errnoCode, readDirIfExists } from './fs-util';
import { UPLOAD_SUFFIX, stagedTarget, type Layout } from './layout';
import { LOCK_STALE_MS } from './upload-lock';
import { uploadEntryKind } from './uploads';

export class StagingArea {
  /** Set once the staging area was seen to be a real directory inside the root. */
  private stagingVerified = false;

  constructor(
    /** The driver, for its name in errors (a subclass sets its own name after the constructor). */
    private readonly driver: { readonly name: string },
    private readonly layout: Layout,
    /** The driver's bound on concurrent filesystem operations. */
    private readonly limiter: Semaphore,
  ) {}

  private get name(): string {
    return this.driver.name;
  }

  /**
   * The staging area must be a real directory inside the root: a symlink there would send
   * uploads, and purgeUploads' deletions, outside it. Checked until it exists, then once.
   */
  async check(): Promise<void> {
    if (this.stagingVerified) return;
    let info: fs.Stats;
    try {
      info = await fsp.lstat(this.layout.staging);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return; // made as a directory on first use
      throw err;
    }
    if (!info.isDirectory()) {
      throw new StorageDriverError(
        this.name,
        new Error(
          `${this.layout.staging} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; the staging area must be a real directory inside the root, and is never followed out of it`,
        ),
        { operation: 'staging' },
      );
    }
    this.stagingVerified = true;
  }

  /**
   * What the staging area holds for paths at or below `prefix` (unfinished uploads, temp files and
   * directories mirroring those paths), as paths relative to the root directory. Empty when every
   * upload was committed or cancelled.
   */
  async leftovers(prefix: string = ROOT): Promise<string[]> {
    const found: string[] = [];
    const visit = async (dir: string, mirrored: string): Promise<void> => {
      const entries = await readDirIfExists(dir);
      for (const entry of entries ?? []) {
        const file = `${dir}/${entry.name}`;
        const shown = this.layout.relative(file);
        const target = stagedTarget(mirrored, entry.name);
        if (entry.isDirectory() && entry.name.endsWith(UPLOAD_SUFFIX)) {
          // An upload (its bytes, or a fenced note, or an empty directory) shows as its directory.
          if (target === undefined || isSameOrBelow(target, prefix)) found.push(shown);
        } else if (entry.isDirectory()) {
          const path = joinPath(mirrored, entry.name);
          if (isSameOrBelow(path, prefix)) found.push(`${shown}/`);
          await visit(file, path);
        } else if (target === undefined || isSameOrBelow(target, prefix)) {
          found.push(shown);
        }
      }
    };
    await visit(this.layout.staging, ROOT);
    return found.sort();
  }

  /**
   * Walks the staging area (never through a symlink: it must be a real directory, and entries are
   * judged by lstat) removing what was last written before `olderThan`: upload directories' bytes
   * (one count per upload), fenced notes, copies, stale locks, putContent temp files (one count
   * each), and the directories left empty.
   */
  async purge(olderThan: Date, signal: AbortSignal | undefined): Promise<number> {
    const cutoff = olderThan.getTime();
    this.stagingVerified = false;
    await this.check();
    let removed = 0;
    const removeIfStale = async (file: string, cutoffMs: number): Promise<boolean> =>
      this.limiter.run(async () => {
        let info: fs.Stats;
        try {
          info = await fsp.lstat(file);
        } catch (err) {
          if (errnoCode(err) === 'ENOENT') return false;
          throw err;
        }
        if (info.isDirectory() || info.mtimeMs >= cutoffMs) return false;
        try {
          await fsp.unlink(file);
          return true;
        } catch (err) {
          if (errnoCode(err) === 'ENOENT') return false;
          throw err;
        }
      });
    const purgeUploadDir = async (dir: string): Promise<void> => {
      let purgedBytes = false;
      for (const entry of (await this.limiter.run(() => readDirIfExists(dir))) ?? []) {
        const kind = uploadEntryKind(entry.name);
        if (kind === undefined || entry.isDirectory()) continue;
        // A lock is only ever held for moments; one older than LOCK_STALE_MS is its crashed holder's.
        const limit = kind === 'lock' ? Math.min(cutoff, Date.now() - LOCK_STALE_MS) : cutoff;
        if ((await removeIfStale(`${dir}/${entry.name}`, limit)) && kind === 'bytes') purgedBytes = true;
      }
      if (purgedBytes) removed++;
      await this.limiter.run(() => fsp.rmdir(dir)).catch(() => undefined);
    };
    const visit = async (dir: string): Promise<void> => {
      throwIfAborted(signal, { driverName: this.name, operation: 'purgeUploads' });
      const entries = await this.limiter.run(() => readDirIfExists(dir));
      for (const entry of entries ?? []) {
        const file = `${dir}/${entry.name}`;
        if (entry.isDirectory() && entry.name.endsWith(UPLOAD_SUFFIX)) {
          await purgeUploadDir(file);
        } else if (entry.isDirectory()) {
          await visit(file);
          // Empty now (or all along): prune it, unless a writer just put something there.
          await this.limiter.run(() => fsp.rmdir(file)).catch(() => undefined);
        } else if (await removeIfStale(file, cutoff)) {
          removed++;
        }
      }
    };
    await visit(this.layout.staging);
    return removed;
  }
}
