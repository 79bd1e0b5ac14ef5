import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  MiB,
  BaseStorageDriver,
  InvalidParameterError,
  integerOption,
  InvalidPathError,
  NotDurableError,
  PathNotFoundError,
  ROOT,
  Semaphore,
  StorageDriverError,
  StorageFullError,
  compareNames,
  isSameOrBelow,
  isValidComponent,
  joinPath,
  throwIfAborted,
  walkTree,
  type ErrorContext,
  type FileInfo,
  type FileWriter,
  type LeftoverInspector,
  type OpOptions,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { CREATE_ATTEMPTS, durability, errnoCode, exists, makeDirs, openCreating, pruneEmptyDirs, readDirIfExists, removeDirs, writeAll } from './fs-util';
import { Layout, UPLOAD_SUFFIX, stagedTarget } from './layout';
import { LOCK_STALE_MS } from './upload-lock';
import { FilesystemUploads, uploadEntryKind } from './uploads';
import { FilesystemFileWriter, type WriterHost } from './writer';

export const DRIVER_NAME = 'filesystem';
export const DEFAULT_ROOT_DIRECTORY = '/var/lib/registry';
export const DEFAULT_MAX_THREADS = 100;

export interface FilesystemDriverOptions {
  /** Where content lives; storage path P is the file `<rootDirectory>P`. Default /var/lib/registry. */
  rootDirectory?: string;
  /** How many filesystem operations may run at once (distribution's regulator). Default 100. */
  maxThreads?: number;
  /**
   * fsync a file before commit or putContent renames it into place (and its directory after), as
   * distribution does. Without it a process crash still never tears a file, but an OS crash or
   * power loss may leave a recent commit empty or lost. Default true.
   */
  syncOnCommit?: boolean;
}

// Callback-style open/fstat: a numeric fd can be handed to fs.createReadStream, which is faster
// than a FileHandle stream and owns (and closes) the descriptor.
const openFd = promisify(fs.open);
const fstatFd = promisify(fs.fstat);
const closeFd = promisify(fs.close);

/** Read-ahead of reader streams: large enough that per-chunk overhead disappears. */
const READ_CHUNK = MiB;
/** How many stats a walk keeps in flight ahead of the callback. */
const WALK_STAT_WINDOW = 16;

export class FilesystemDriver extends BaseStorageDriver implements LeftoverInspector {
  readonly name = DRIVER_NAME;
  readonly rootDirectory: string;
  readonly maxThreads: number;
  readonly syncOnCommit: boolean;
  /** Bounds concurrent filesystem operations; each driver operation holds one slot while it touches the disk. */
  private readonly limiter: Semaphore;
  private readonly layout: Layout;
  private readonly uploads: FilesystemUploads;
  private readonly writerHost: WriterHost;
  /** Set once the staging area was seen to be a real directory inside the root. */
  private stagingVerified = false;

  constructor(options: FilesystemDriverOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new InvalidParameterError(DRIVER_NAME, 'options', 'must be an object');
    const rootDirectory = options.rootDirectory ?? DEFAULT_ROOT_DIRECTORY;
    if (typeof rootDirectory !== 'string' || rootDirectory.trim() === '') {
      throw new InvalidParameterError(DRIVER_NAME, 'rootDirectory', 'must be a non-empty string');
    }
    const maxThreads = integerOption(DRIVER_NAME, 'maxThreads', options.maxThreads, { default: DEFAULT_MAX_THREADS, min: 1 });
    const syncOnCommit = options.syncOnCommit ?? true;
    if (typeof syncOnCommit !== 'boolean') throw new InvalidParameterError(DRIVER_NAME, 'syncOnCommit', 'must be true or false');
    this.layout = new Layout(rootDirectory);
    this.rootDirectory = this.layout.root;
    this.maxThreads = maxThreads;
    this.syncOnCommit = syncOnCommit;
    this.limiter = new Semaphore(maxThreads);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below runs with the options object as `this`
    const driver = this;
    this.uploads = new FilesystemUploads({
      // A getter: a subclass sets its own name after this constructor has run.
      get driverName() {
        return driver.name;
      },
      layout: this.layout,
      limiter: this.limiter,
      checkStaging: () => this.checkStaging(),
    });
    this.writerHost = {
      limiter: this.limiter,
      syncOnCommit,
      uploads: this.uploads,
      publish: (file, path, operation, sourceGone) => this.publish(file, path, operation, sourceGone),
      makeDurable: (dir, path, operation) => this.makeDurable(dir, path, operation),
    };
  }

  /** The staging area (`<root>/.stowage~staging`), where unfinished uploads live. */
  get stagingRoot(): string {
    return this.layout.staging;
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

  // ---- reads ----

  protected override _getContent(path: string): Promise<Buffer> {
    return this.limiter.run(() => fsp.readFile(this.layout.full(path)));
  }

  protected async _reader(path: string, offset: number): Promise<Readable> {
    const file = this.layout.full(path);
    return this.limiter.run(async () => {
      const fd = await openFd(file, 'r');
      let size: number;
      try {
        const info = await fstatFd(fd);
        if (info.isDirectory()) throw new PathNotFoundError(this.name, path, { operation: 'reader' });
        size = info.size;
      } catch (err) {
        await closeFd(fd).catch(() => undefined);
        throw err;
      }
      if (offset >= size) {
        await closeFd(fd);
        return Readable.from([]);
      }
      return fs.createReadStream(file, { fd, start: offset, highWaterMark: READ_CHUNK, autoClose: true });
    });
  }

  protected async _stat(path: string): Promise<FileInfo> {
    let info: fs.Stats;
    try {
      info = await this.limiter.run(() => fsp.stat(this.layout.full(path)));
    } catch (err) {
      // The root is a directory even before anything was written.
      if (path === ROOT && errnoCode(err) === 'ENOENT') return { path, size: 0, modTime: new Date(0), isDir: true };
      throw err;
    }
    return toFileInfo(path, info);
  }

  protected async _list(path: string): Promise<string[]> {
    let names: string[];
    try {
      names = await this.limiter.run(() => fsp.readdir(this.layout.full(path)));
    } catch (err) {
      if (path === ROOT && errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    return names
      .filter(isValidComponent)
      .sort(compareNames)
      .map((name) => joinPath(path, name));
  }

  protected override async _walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions): Promise<void> {
    await walkTree(
      {
        driverName: this.name,
        children: async (dir, isWalkRoot) => {
          let names: string[];
          try {
            names = await this.limiter.run(() => fsp.readdir(this.layout.full(dir)));
          } catch (err) {
            const code = errnoCode(err);
            if (dir === ROOT && code === 'ENOENT') return []; // nothing written yet
            if (!isWalkRoot && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined; // vanished mid-walk
            throw err;
          }
          return names.filter(isValidComponent).map((name) => joinPath(dir, name));
        },
        stat: async (child) => {
          const info = await this.statIfExists(child);
          return info && toFileInfo(child, info);
        },
      },
      path,
      fn,
      opts,
      { statAhead: WALK_STAT_WINDOW },
    );
  }

  // ---- writes ----

  protected override async _putContent(path: string, content: Buffer): Promise<void> {
    await this.checkStaging();
    const syncDir = await this.limiter.run(async () => {
      const temp = this.layout.putTemp(path);
      const { handle, created } = await openCreating(temp, 'wx');
      try {
        try {
          if (content.byteLength > 0) await writeAll(handle, content, 0);
          if (this.syncOnCommit) await handle.datasync();
        } finally {
          await handle.close();
        }
        return await this.publish(temp, path, 'putContent');
      } catch (err) {
        await fsp.unlink(temp).catch(() => undefined);
        await removeDirs(created);
        throw err;
      } finally {
        await pruneEmptyDirs(dirname(temp), this.layout.staging);
      }
    });
    if (this.syncOnCommit) await this.makeDurable(syncDir, path, 'putContent');
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    const opened = await this.uploads.open(path, append, opts.signal);
    return new FilesystemFileWriter(this.writerInit(path, opened.size, opts), opened, this.writerHost);
  }

  /**
   * Renames `file` to the committed file of `path`, creating parent directories when missing
   * (and again if a concurrent prune removes them); directories it made are removed again if the
   * rename fails. `sourceGone` says what a missing `file` means (default: PathNotFoundError for
   * `path`). Returns the directory that now holds the file, for makeDurable.
   */
  private async publish(file: string, path: string, operation: string, sourceGone?: () => Error | Promise<Error>): Promise<string> {
    const dest = this.layout.full(path);
    const created: string[] = [];
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await fsp.rename(file, dest);
          return dirname(dest);
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
            throw new InvalidPathError(this.name, path, 'the path is a directory', { operation, cause: err });
          }
          if (code === 'ENOTDIR') throw new InvalidPathError(this.name, path, 'a parent of the path is a file', { operation, cause: err });
          if (code !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw err;
          // ENOENT: the destination's parent is missing, or the source is gone.
          if (!(await exists(file))) throw sourceGone ? await sourceGone() : new PathNotFoundError(this.name, path, { operation, cause: err });
        }
        try {
          created.push(...(await makeDirs(dirname(dest))));
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'ENOTDIR' || code === 'EEXIST') {
            throw new InvalidPathError(this.name, path, 'a parent of the path is a file', { operation, cause: err });
          }
          throw err;
        }
      }
    } catch (err) {
      await removeDirs(created);
      throw err;
    }
  }

  /**
   * Fsyncs `dir` after a rename into it, once more if that fails; a second failure is a
   * NotDurableError, which says the change is published (the caller must not think it failed).
   */
  private async makeDurable(dir: string, path: string, operation: string): Promise<void> {
    try {
      await durability.syncDir(dir);
    } catch {
      try {
        await durability.syncDir(dir);
      } catch (err) {
        throw new NotDurableError(this.name, path, operation, err);
      }
    }
  }

  /**
   * The staging area must be a real directory inside the root: a symlink there would send
   * uploads, and purgeUploads' deletions, outside it. Checked until it exists, then once.
   */
  private async checkStaging(): Promise<void> {
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

  protected async _move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.layout.full(sourcePath);
    const syncDir = await this.limiter.run(async () => {
      const info = await fsp.stat(source);
      if (info.isDirectory()) throw new PathNotFoundError(this.name, sourcePath, { operation: 'move' });
      if (sourcePath === destPath) return undefined;
      // publish removes directories it made for a move that did not happen.
      const dir = await this.publish(source, destPath, 'move', () => new PathNotFoundError(this.name, sourcePath, { operation: 'move' }));
      await pruneEmptyDirs(dirname(source), this.layout.root);
      return dir;
    });
    if (syncDir !== undefined && this.syncOnCommit) await this.makeDurable(syncDir, destPath, 'move');
  }

  protected async _delete(path: string): Promise<void> {
    const target = this.layout.full(path);
    await this.limiter.run(async () => {
      const info = await fsp.lstat(target);
      if (info.isDirectory()) await fsp.rm(target, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
      else await fsp.unlink(target);
      await pruneEmptyDirs(dirname(target), this.layout.root);
    });
  }

  /**
   * Walks the staging area (never through a symlink: it must be a real directory, and entries are
   * judged by lstat) removing what was last written before `olderThan`: upload directories' bytes
   * (one count per upload), fenced notes, copies, stale locks, putContent temp files (one count
   * each), and the directories left empty.
   */
  protected async _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    const cutoff = olderThan.getTime();
    this.stagingVerified = false;
    await this.checkStaging();
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
      throwIfAborted(opts.signal, { driverName: this.name, operation: 'purgeUploads' });
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

  protected override _mapError(err: unknown, context: ErrorContext): Error | undefined {
    const path = context.path ?? ROOT;
    const extra = { operation: context.operation, cause: err };
    switch (errnoCode(err)) {
      case 'ENOENT':
      case 'ENOTDIR':
        return new PathNotFoundError(this.name, path, extra);
      case 'EISDIR':
        // Reading a directory as a file: there is no content at that path.
        if (context.operation === 'getContent' || context.operation === 'reader') return new PathNotFoundError(this.name, path, extra);
        return new InvalidPathError(this.name, path, 'the path is a directory', extra);
      case 'ENAMETOOLONG':
        return new InvalidPathError(this.name, path, 'path too long for the filesystem', extra);
      case 'ENOSPC':
      case 'EDQUOT':
        return new StorageFullError(this.name, context.path, context.operation, err);
      default:
        return undefined;
    }
  }

  private async statIfExists(path: string): Promise<fs.Stats | undefined> {
    try {
      return await this.limiter.run(() => fsp.stat(this.layout.full(path)));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  }
}

function toFileInfo(path: string, info: fs.Stats): FileInfo {
  const isDir = info.isDirectory();
  return { path, size: isDir ? 0 : info.size, modTime: info.mtime, isDir };
}
