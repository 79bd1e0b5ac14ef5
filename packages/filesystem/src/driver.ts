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
  PathNotFoundError,
  ROOT,
  Semaphore,
  StorageDriverError,
  StorageFullError,
  compareNames,
  isValidComponent,
  joinPath,
  walkTree,
  type ErrorContext,
  type FileInfo,
  type FileWriter,
  type LeftoverInspector,
  type OpOptions,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { errnoCode, openCreating, pruneEmptyDirs, removeDirs, writeAll } from './fs-util';
import { Layout } from './layout';
import { Publisher } from './publish';
import { StagingArea } from './staging';
import { FilesystemUploads } from './uploads';
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
  private readonly staging: StagingArea;
  private readonly publisher: Publisher;

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
    this.staging = new StagingArea(this, this.layout, this.limiter);
    this.publisher = new Publisher(this, this.layout);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below runs with the options object as `this`
    const driver = this;
    this.uploads = new FilesystemUploads({
      // A getter: a subclass sets its own name after this constructor has run.
      get driverName() {
        return driver.name;
      },
      layout: this.layout,
      limiter: this.limiter,
      checkStaging: () => this.staging.check(),
    });
    this.writerHost = {
      limiter: this.limiter,
      syncOnCommit,
      uploads: this.uploads,
      publish: (file, path, operation, sourceGone) => this.publisher.publish(file, path, operation, sourceGone),
      makeDurable: (dir, path, operation) => this.publisher.makeDurable(dir, path, operation),
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
  leftovers(prefix: string = ROOT): Promise<string[]> {
    return this.staging.leftovers(prefix);
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
    await this.staging.check();
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
        return await this.publisher.publish(temp, path, 'putContent');
      } catch (err) {
        await fsp.unlink(temp).catch(() => undefined);
        await removeDirs(created);
        throw err;
      } finally {
        await pruneEmptyDirs(dirname(temp), this.layout.staging);
      }
    });
    if (this.syncOnCommit) await this.publisher.makeDurable(syncDir, path, 'putContent');
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    const opened = await this.uploads.open(path, append, opts.signal);
    return new FilesystemFileWriter(this.writerInit(path, opened.size, opts), opened, this.writerHost);
  }

  protected async _move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.layout.full(sourcePath);
    const syncDir = await this.limiter.run(async () => {
      const info = await fsp.stat(source);
      if (info.isDirectory()) throw new PathNotFoundError(this.name, sourcePath, { operation: 'move' });
      if (sourcePath === destPath) return undefined;
      // publish removes directories it made for a move that did not happen.
      const dir = await this.publisher.publish(source, destPath, 'move', () => new PathNotFoundError(this.name, sourcePath, { operation: 'move' }));
      await pruneEmptyDirs(dirname(source), this.layout.root);
      return dir;
    });
    if (syncDir !== undefined && this.syncOnCommit) await this.publisher.makeDurable(syncDir, destPath, 'move');
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
   * judged by lstat) removing what was last written before `olderThan`; see StagingArea.purge.
   */
  protected _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    return this.staging.purge(olderThan, opts.signal);
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
      // Busy resources and exhausted descriptors free up as other calls finish; a timed-out network filesystem may answer next time.
      case 'EAGAIN':
      case 'EBUSY':
      case 'EINTR':
      case 'EMFILE':
      case 'ENFILE':
      case 'ETIMEDOUT':
        return new StorageDriverError(this.name, err, { ...context, transient: true });
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
