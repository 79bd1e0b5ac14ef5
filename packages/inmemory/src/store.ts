/**
 * The in-memory tree. Committed files hold their content as an immutable list of chunks, so a
 * reader can stream a snapshot while a writer replaces the file, and so content past Buffer's
 * size limit can still be stored. A chunk is a view of a slab the writer filled (see writer.ts):
 * the bytes a chunk covers are never written again, so chunks are shared freely between files,
 * resumed uploads and readers. Directories exist only while they hold files.
 */

export class FileNode {
  readonly kind = 'file';
  /** Readers still copying out of `chunks`: while any is, the slabs cannot be reused. */
  readers = 0;
  /** Set once the tree no longer holds this file, while it owns slabs; they go back to the pool when no reader is left. */
  dropped = false;
  /**
   * @param ownsSlabs the whole slabs among `chunks` belong to this file alone (a fresh writer's
   *   commit), so they may be reused once the file is dropped; false once anything else shares
   *   them, and for a file without a whole slab (MemoryStore.adopt).
   */
  constructor(
    readonly chunks: readonly Buffer[],
    readonly size: number,
    public modTime: Date,
    public ownsSlabs = false,
  ) {}
}

export class DirNode {
  readonly kind = 'dir';
  readonly children = new Map<string, TreeNode>();
  constructor(public modTime: Date) {}
}

export type TreeNode = FileNode | DirNode;

/** An unfinished upload: what writer(path, true) resumes. */
export interface StagedUpload {
  chunks: Buffer[];
  size: number;
  lastWritten: Date;
  /** Set when a newer writer of the path replaced this upload: its writer is fenced. */
  fenced?: boolean;
}

/** Largest slab a writer fills (see writer.ts); only slabs of exactly this size are reused. */
export const MAX_SLAB = 8 * 1024 * 1024;

/** Most bytes of dropped files' slabs kept for reuse. */
const POOL_LIMIT = 256 * 1024 * 1024;

/** How long reusable slabs are kept when no writer takes any. */
const POOL_IDLE_MS = 2000;

/**
 * Everything an in-memory driver holds. Two drivers constructed over the same store see the same
 * files and uploads, as two processes would see one real backend.
 */
export class MemoryStore {
  /** The committed tree (the drivers' own; not part of the API). @internal */
  readonly root = new DirNode(new Date());
  /** Unfinished uploads by path (the drivers' own; not part of the API). @internal */
  readonly uploads = new Map<string, StagedUpload>();

  /*
   * Full slabs of dropped files, for the next writers. Memory the process got from the OS costs a
   * page fault per 4 KiB on first touch, which is most of what writing a big file costs; V8 frees a
   * Buffer only at some later GC and the C allocator then hands big blocks back to the OS, so
   * without this every big write touches fresh pages. Let go once POOL_IDLE_MS pass with no reuse.
   */
  private readonly freeSlabs: Buffer[] = [];
  private poolTimer: NodeJS.Timeout | undefined;
  private takenSinceTimer = false;
  /** Files that own slabs (dropped ones still read included): while there are none, a delete need not visit the files it drops. */
  private slabOwners = 0;

  /** `file` enters the tree: it owns slabs only if it holds a whole one (the drivers' own). @internal */
  adopt(file: FileNode): void {
    if (file.ownsSlabs && file.chunks.some(isWholeSlab)) this.slabOwners++;
    else file.ownsSlabs = false;
  }

  /** Something else now shares `file`'s chunks (an append continues them): they are no longer its own to reuse (the drivers' own). @internal */
  share(file: FileNode): void {
    if (!file.ownsSlabs) return;
    file.ownsSlabs = false;
    this.slabOwners--;
  }

  /** Whether any file owns slabs; when none does, dropping files changes nothing (the drivers' own). @internal */
  get hasSlabOwners(): boolean {
    return this.slabOwners > 0;
  }

  /** A slab of MAX_SLAB bytes (old content, to be overwritten), or undefined when none is free (the writer's own). @internal */
  takeSlab(): Buffer | undefined {
    const slab = this.freeSlabs.pop();
    if (slab) this.takenSinceTimer = true;
    return slab;
  }

  /** The tree let go of `file`: its slabs are reused once no reader is copying from them (the drivers' own). @internal */
  drop(file: FileNode): void {
    file.dropped = true;
    if (!file.ownsSlabs || file.readers > 0) return;
    this.share(file);
    for (const chunk of file.chunks) {
      if (this.freeSlabs.length * MAX_SLAB >= POOL_LIMIT) break;
      if (isWholeSlab(chunk)) this.freeSlabs.push(chunk);
    }
    if (this.freeSlabs.length > 0 && !this.poolTimer) this.schedulePoolRelease();
  }

  private schedulePoolRelease(): void {
    this.takenSinceTimer = false;
    this.poolTimer = setTimeout(() => {
      this.poolTimer = undefined;
      if (this.takenSinceTimer) this.schedulePoolRelease();
      else this.freeSlabs.length = 0;
    }, POOL_IDLE_MS);
    this.poolTimer.unref();
  }
}

/** A whole slab of its own (allocUnsafeSlow): a trimmed copy or a pooled small buffer never qualifies. */
function isWholeSlab(chunk: Buffer): boolean {
  return chunk.length === MAX_SLAB && chunk.byteOffset === 0 && chunk.buffer.byteLength === MAX_SLAB;
}
