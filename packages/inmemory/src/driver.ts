import { Readable } from 'node:stream';
import {
  BaseStorageDriver,
  MiB,
  InvalidPathError,
  PathNotFoundError,
  ROOT,
  baseName,
  compareNames,
  isSameOrBelow,
  joinPath,
  parentPath,
  pathComponents,
  registerDriver,
  type FileInfo,
  type FileWriter,
  type LeftoverInspector,
  type OpOptions,
} from '@stowage/core';
import { DirNode, FileNode, MemoryStore, type StagedUpload, type TreeNode } from './store';
import { InMemoryFileWriter } from './writer';

export const DRIVER_NAME = 'inmemory';

export interface InMemoryDriverOptions {
  /** Share a store between instances to model several clients of one backend. */
  store?: MemoryStore;
}

/** The reference driver: plain in-memory semantics, used to pin down the conformance suite. */
export class InMemoryDriver extends BaseStorageDriver implements LeftoverInspector {
  readonly name = DRIVER_NAME;
  readonly store: MemoryStore;

  constructor(options: InMemoryDriverOptions = {}) {
    super();
    this.store = options.store ?? new MemoryStore();
  }

  /** Paths of staged uploads at or below `prefix` (for the conformance suite's leftovers check). */
  async leftovers(prefix: string = ROOT): Promise<string[]> {
    return [...this.store.uploads.keys()].filter((path) => isSameOrBelow(path, prefix)).sort();
  }

  protected override async _getContent(path: string): Promise<Buffer> {
    const file = this.requireFile(path);
    return file.chunks.length === 1 ? Buffer.from(file.chunks[0]!) : Buffer.concat(file.chunks, file.size);
  }

  protected override async _putContent(path: string, content: Buffer): Promise<void> {
    this.publish(path, new FileNode([Buffer.from(content)], content.length, new Date()));
  }

  protected async _reader(path: string, offset: number): Promise<Readable> {
    const file = this.requireFile(path);
    file.readers++;
    return new SnapshotReader(file.chunks, offset, () => this.releaseReader(file));
  }

  /**
   * Every writer gets its own StagedUpload object, and the store's entry for the path points at the
   * newest one: that is the fence. A resumed upload copies the list of chunks (the chunks themselves
   * are never changed once stored, so they are shared), so the fenced writer's object is no longer
   * reachable from the store and nothing it does lands anywhere.
   */
  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    let upload: StagedUpload;
    const staged = this.store.uploads.get(path);
    if (!append) {
      upload = { chunks: [], size: 0, lastWritten: new Date() };
    } else if (staged) {
      upload = { chunks: [...staged.chunks], size: staged.size, lastWritten: new Date() };
    } else {
      const node = this.find(path);
      if (!(node instanceof FileNode)) throw new PathNotFoundError(this.name, path, { operation: 'writer' });
      // Continue from committed content: its chunks are immutable, so they can be shared (and so
      // are no longer the file's own to reuse).
      this.store.share(node);
      upload = { chunks: [...node.chunks], size: node.size, lastWritten: new Date() };
    }
    if (staged) staged.fenced = true;
    this.store.uploads.set(path, upload);
    return new InMemoryFileWriter(this.writerInit(path, upload.size, opts), upload, this);
  }

  protected async _stat(path: string): Promise<FileInfo> {
    const node = this.find(path);
    if (!node) throw new PathNotFoundError(this.name, path, { operation: 'stat' });
    return node instanceof FileNode ? { path, size: node.size, modTime: node.modTime, isDir: false } : { path, size: 0, modTime: node.modTime, isDir: true };
  }

  protected async _list(path: string): Promise<string[]> {
    const node = this.find(path);
    if (!(node instanceof DirNode)) throw new PathNotFoundError(this.name, path, { operation: 'list' });
    return [...node.children.keys()].sort(compareNames).map((name) => joinPath(path, name));
  }

  protected async _move(sourcePath: string, destPath: string): Promise<void> {
    const node = this.find(sourcePath);
    if (!(node instanceof FileNode)) throw new PathNotFoundError(this.name, sourcePath, { operation: 'move' });
    if (sourcePath === destPath) return;
    this.place(destPath, node);
    this.detach(sourcePath);
  }

  protected async _delete(path: string): Promise<void> {
    const node = this.find(path);
    if (!node) throw new PathNotFoundError(this.name, path, { operation: 'delete' });
    this.detach(path);
    // Only files that own slabs need to know they were dropped; most trees hold none.
    if (this.store.hasSlabOwners) this.dropTree(node);
  }

  protected async _purgeUploads(olderThan: Date): Promise<number> {
    let removed = 0;
    for (const [path, upload] of this.store.uploads) {
      if (upload.lastWritten < olderThan) {
        this.store.uploads.delete(path);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Puts a new `file` at `path`, creating parent directories; replaces an existing file atomically.
   * The driver's own (its writer commits through it), not part of the API.
   * @internal
   */
  publish(path: string, file: FileNode): void {
    this.place(path, file);
    this.store.adopt(file);
  }

  /** Puts `file` (new, or moved from elsewhere in the tree) at `path`; see publish. */
  private place(path: string, file: FileNode): void {
    const names = pathComponents(path);
    let dir = this.store.root;
    for (const name of names.slice(0, -1)) {
      let next = dir.children.get(name);
      if (next instanceof FileNode) throw new InvalidPathError(this.name, path, 'a parent of the path is a file');
      if (!next) {
        next = new DirNode(file.modTime);
        dir.children.set(name, next);
      }
      dir.modTime = file.modTime;
      dir = next;
    }
    const leaf = names[names.length - 1]!;
    const replaced = dir.children.get(leaf);
    if (replaced instanceof DirNode) throw new InvalidPathError(this.name, path, 'the path is a directory');
    dir.children.set(leaf, file);
    dir.modTime = file.modTime;
    if (replaced && replaced !== file) this.store.drop(replaced);
  }

  /** Every file at or below `node`, which the tree no longer holds, is dropped. */
  private dropTree(node: TreeNode): void {
    if (node instanceof FileNode) this.store.drop(node);
    else for (const child of node.children.values()) this.dropTree(child);
  }

  /** A reader of `file` copied its last byte or was destroyed: a dropped file it kept alive can now be reused. */
  private releaseReader(file: FileNode): void {
    file.readers--;
    if (file.dropped && file.readers === 0) this.store.drop(file);
  }

  private find(path: string): TreeNode | undefined {
    let node: TreeNode = this.store.root;
    for (const name of pathComponents(path)) {
      if (!(node instanceof DirNode)) return undefined;
      const child: TreeNode | undefined = node.children.get(name);
      if (!child) return undefined;
      node = child;
    }
    return node;
  }

  private requireFile(path: string): FileNode {
    const node = this.find(path);
    if (!(node instanceof FileNode)) throw new PathNotFoundError(this.name, path);
    return node;
  }

  /** Removes `path` and then every ancestor directory left empty. */
  private detach(path: string): void {
    for (let current = path; current !== ROOT; current = parentPath(current)) {
      const parent = this.find(parentPath(current));
      if (!(parent instanceof DirNode)) return;
      const child = parent.children.get(baseName(current));
      if (current !== path && !(child instanceof DirNode && child.children.size === 0)) return;
      parent.children.delete(baseName(current));
    }
  }
}

/** Bytes per chunk a reader hands out, and its read-ahead: big enough that per-chunk costs vanish. */
const READ_CHUNK = MiB;

/**
 * Streams a committed file's chunks from `offset`: each read() copies the next READ_CHUNK bytes
 * (fewer at the end) out of the stored chunks into one new Buffer, so a consumer writing into
 * what it read cannot change stored content, and nothing is built ahead of what the consumer asks.
 */
class SnapshotReader extends Readable {
  private chunks: readonly Buffer[];
  /** The stored chunk the next byte comes from, and the position in it. */
  private index = 0;
  private at: number;
  /** Called once, when this reader no longer copies from `chunks`. */
  private release: (() => void) | undefined;

  constructor(chunks: readonly Buffer[], offset: number, release: () => void) {
    super({ highWaterMark: READ_CHUNK });
    this.chunks = chunks;
    this.release = release;
    let skip = offset;
    while (this.index < chunks.length && skip >= chunks[this.index]!.length) skip -= chunks[this.index++]!.length;
    this.at = skip;
  }

  override _read(): void {
    const chunks = this.chunks;
    let wanted = 0;
    for (let i = this.index, from = this.at; i < chunks.length && wanted < READ_CHUNK; i++, from = 0) wanted += chunks[i]!.length - from;
    if (wanted === 0) {
      this.letGo();
      this.push(null);
      return;
    }
    const out = Buffer.allocUnsafe(Math.min(wanted, READ_CHUNK));
    let filled = 0;
    while (filled < out.length) {
      const chunk = chunks[this.index]!;
      const copied = chunk.copy(out, filled, this.at);
      filled += copied;
      this.at += copied;
      if (this.at === chunk.length) {
        this.index++;
        this.at = 0;
      }
    }
    // Past the last copy: the stored chunks may be reused from here on.
    if (this.index === chunks.length) this.letGo();
    this.push(out);
    // Ending now saves a small file's stream one more read() round.
    if (this.index === chunks.length) this.push(null);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // Let go of the snapshot: a destroyed reader must not keep a deleted file's bytes alive.
    this.letGo();
    callback(err);
  }

  private letGo(): void {
    this.chunks = [];
    const release = this.release;
    this.release = undefined;
    release?.();
  }
}

registerDriver(DRIVER_NAME, () => new InMemoryDriver());
