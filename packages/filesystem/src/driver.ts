import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import * as fse from 'fs-extra';
import { MiB, BaseStorageDriver, InvalidParameterError, InvalidPathError, PathNotFoundError, ROOT, Semaphore, compareNames, isSameOrBelow, isValidComponent, joinPath, throwIfAborted, walkTree, type ErrorContext, type FileInfo, type FileWriter, type OpOptions, type WalkFn, type WalkOptions } from '@stowage/core';
import { CREATE_ATTEMPTS, errnoCode, openCreating, pruneEmptyDirs, readDirIfExists, syncDir, writeAll } from './fs-util';
import { Layout, stagedTarget } from './layout';
import { FilesystemFileWriter, hasOpenWriters, supersedeUpload, withUploadLock, type WriterHost } from './writer';

export const DRIVER_NAME = 'filesystem';
export const DEFAULT_ROOT_DIRECTORY = '/var/lib/registry';
export const DEFAULT_MAX_THREADS = 100;

export interface FilesystemDriverOptions {
  /** Where content lives; storage path P is the file `<rootdirectory>P`. Default /var/lib/registry. */
  rootdirectory?: string;
  /** How many filesystem operations may run at once (distribution's regulator). Default 100. */
  maxthreads?: number;
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

/** An open staged file a writer continues: its size and, when already known, its inode. */
interface StagedFile {
  handle: FileHandle;
  size: number;
  inode?: number;
}

/** Read-ahead of reader streams: large enough that per-chunk overhead disappears. */
const READ_CHUNK = MiB;
/** How many stats a walk keeps in flight ahead of the callback. */
const WALK_STAT_WINDOW = 16;

export class FilesystemDriver extends BaseStorageDriver {
  readonly name = DRIVER_NAME;
  readonly rootDirectory: string;
  readonly maxThreads: number;
  readonly syncOnCommit: boolean;
  /** Bounds concurrent filesystem operations; each driver operation holds one slot while it touches the disk. */
  private readonly limiter: Semaphore;
  private readonly layout: Layout;
  private readonly writerHost: WriterHost;

  constructor(options: FilesystemDriverOptions = {}) {
    super();
    const rootdirectory = options.rootdirectory ?? DEFAULT_ROOT_DIRECTORY;
    if (typeof rootdirectory !== 'string' || rootdirectory === '') {
      throw new InvalidParameterError(DRIVER_NAME, 'rootdirectory', 'must be a non-empty string');
    }
    const maxthreads = options.maxthreads ?? DEFAULT_MAX_THREADS;
    if (!Number.isSafeInteger(maxthreads) || maxthreads < 1) {
      throw new InvalidParameterError(DRIVER_NAME, 'maxthreads', `must be a positive integer, got ${String(maxthreads)}`);
    }
    const syncOnCommit = options.syncOnCommit ?? true;
    if (typeof syncOnCommit !== 'boolean') throw new InvalidParameterError(DRIVER_NAME, 'syncOnCommit', 'must be true or false');
    this.layout = new Layout(rootdirectory);
    this.rootDirectory = this.layout.root;
    this.maxThreads = maxthreads;
    this.syncOnCommit = syncOnCommit;
    this.limiter = new Semaphore(maxthreads);
    this.writerHost = {
      limiter: this.limiter,
      syncOnCommit,
      stagingRoot: this.layout.staging,
      publish: (file, path, operation) => this.publish(file, path, operation),
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
        if (entry.isDirectory()) {
          const path = joinPath(mirrored, entry.name);
          if (isSameOrBelow(path, prefix)) found.push(`${shown}/`);
          await visit(file, path);
        } else {
          const target = stagedTarget(mirrored, entry.name);
          if (target === undefined || isSameOrBelow(target, prefix)) found.push(shown);
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
    await this.limiter.run(async () => {
      const temp = this.layout.putTemp(path);
      const handle = await openCreating(temp, 'wx');
      try {
        try {
          if (content.byteLength > 0) await writeAll(handle, content, 0);
          if (this.syncOnCommit) await handle.datasync();
        } finally {
          await handle.close();
        }
        await this.publish(temp, path, 'putContent');
      } catch (err) {
        await fsp.unlink(temp).catch(() => undefined);
        throw err;
      } finally {
        await pruneEmptyDirs(dirname(temp), this.layout.staging);
      }
    });
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    const upload = this.layout.upload(path);
    return withUploadLock(upload, () =>
      this.limiter.run(async () => {
        const staged = append ? await this.resumeUpload(path, upload) : await this.startUpload(path, upload);
        return new FilesystemFileWriter(this.writerInit(path, staged.size, opts), staged.handle, upload, staged.inode, this.writerHost);
      }),
    );
  }

  /** A fresh, empty upload file; the unfinished upload at the path, if any, is discarded. */
  private async startUpload(path: string, upload: string): Promise<StagedFile> {
    // Always a new inode rather than truncating: a writer still holding the old one (in another
    // process) can then neither write into, commit nor cancel this upload.
    if (hasOpenWriters(upload)) await supersedeUpload(upload, () => this.layout.asideFile(path));
    for (let attempt = 1; ; attempt++) {
      try {
        return { handle: await openCreating(upload, 'wx'), size: 0 };
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST' || attempt >= CREATE_ATTEMPTS) throw err;
      }
      // An unfinished upload nobody here is writing (or one a writer(path, false) in another
      // process just made): discard it, ours comes later.
      await supersedeUpload(upload, () => this.layout.asideFile(path));
    }
  }

  /** The unfinished upload, or else a staged copy of the committed content, to continue from. */
  private async resumeUpload(path: string, staged: string): Promise<StagedFile> {
    let handle: FileHandle;
    try {
      handle = await fsp.open(staged, 'r+');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      return this.stageCommittedCopy(path, staged);
    }
    try {
      // An upload being resumed counts as fresh for purgeUploads.
      const now = new Date();
      const [info] = await Promise.all([handle.stat(), handle.utimes(now, now)]);
      return { handle, size: info.size, inode: info.ino };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Copies committed content into staging (copy-on-write where the filesystem can) and publishes it as the upload. */
  private async stageCommittedCopy(path: string, staged: string): Promise<StagedFile> {
    const committed = this.layout.full(path);
    const notFound = () => new PathNotFoundError(this.name, path, { operation: 'writer' });
    const requireCommittedFile = async (): Promise<void> => {
      let info: fs.Stats;
      try {
        info = await fsp.stat(committed);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound();
        throw err;
      }
      if (info.isDirectory()) throw notFound();
    };
    await requireCommittedFile();
    // Copy to a temp name, then rename: a crash mid-copy must not leave a truncated "upload".
    const temp = this.layout.copyTemp(path);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await fsp.copyFile(committed, temp, fs.constants.COPYFILE_FICLONE);
          break;
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw err;
        }
        await requireCommittedFile(); // the ENOENT may have been the source vanishing
        await fse.ensureDir(dirname(temp));
      }
      const handle = await fsp.open(temp, 'r+');
      try {
        await fsp.rename(temp, staged);
        const info = await handle.stat();
        return { handle, size: info.size, inode: info.ino };
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      await fsp.unlink(temp).catch(() => undefined);
      await pruneEmptyDirs(dirname(temp), this.layout.staging);
      throw err;
    }
  }

  /**
   * Renames `file` to the committed file of `path`, creating parent directories when missing
   * (and again if a concurrent prune removes them), then fsyncs the directory if asked to.
   */
  private async publish(file: string, path: string, operation: string, sourcePath?: string): Promise<void> {
    const dest = this.layout.full(path);
    for (let attempt = 1; ; attempt++) {
      try {
        await fsp.rename(file, dest);
        break;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
          throw new InvalidPathError(this.name, path, 'the path is a directory', { operation, cause: err });
        }
        if (code === 'ENOTDIR') throw new InvalidPathError(this.name, path, 'a parent of the path is a file', { operation, cause: err });
        if (code !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw err;
        // ENOENT: the destination's parent is missing, or the source is gone.
        if (!(await exists(file))) throw new PathNotFoundError(this.name, sourcePath ?? path, { operation, cause: err });
      }
      try {
        await fse.ensureDir(dirname(dest));
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOTDIR' || code === 'EEXIST') {
          throw new InvalidPathError(this.name, path, 'a parent of the path is a file', { operation, cause: err });
        }
        throw err;
      }
    }
    if (this.syncOnCommit) await syncDir(dirname(dest));
  }

  protected async _move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.layout.full(sourcePath);
    await this.limiter.run(async () => {
      const info = await fsp.stat(source);
      if (info.isDirectory()) throw new PathNotFoundError(this.name, sourcePath, { operation: 'move' });
      if (sourcePath === destPath) return;
      try {
        await this.publish(source, destPath, 'move', sourcePath);
      } catch (err) {
        // Directories created for a move that did not happen must not linger.
        await pruneEmptyDirs(dirname(this.layout.full(destPath)), this.layout.root);
        throw err;
      }
      await pruneEmptyDirs(dirname(source), this.layout.root);
    });
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

  protected async _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    const cutoff = olderThan.getTime();
    let removed = 0;
    const visit = async (dir: string): Promise<void> => {
      throwIfAborted(opts.signal, { driverName: this.name, operation: 'purgeUploads' });
      const entries = await this.limiter.run(() => readDirIfExists(dir));
      for (const entry of entries ?? []) {
        const file = `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
          await visit(file);
          // Empty now (or all along): prune it, unless a writer just put something there.
          await this.limiter.run(() => fsp.rmdir(file)).catch(() => undefined);
          continue;
        }
        const gone = await this.limiter.run(async () => {
          let info: fs.Stats;
          try {
            info = await fsp.lstat(file);
          } catch (err) {
            if (errnoCode(err) === 'ENOENT') return false;
            throw err;
          }
          if (info.mtimeMs >= cutoff) return false;
          try {
            await fsp.unlink(file);
            return true;
          } catch (err) {
            if (errnoCode(err) === 'ENOENT') return false;
            throw err;
          }
        });
        if (gone) removed++;
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

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}
