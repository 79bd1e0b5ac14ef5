/**
 * The in-memory tree. Committed files hold their content as an immutable list of chunks, so a
 * reader can stream a snapshot while a writer replaces the file, and so content past Buffer's
 * size limit can still be stored. A chunk is a view of a slab the writer filled (see writer.ts):
 * the bytes a chunk covers are never written again, so chunks are shared freely between files,
 * resumed uploads and readers. Directories exist only while they hold files.
 */

export class FileNode {
  readonly kind = 'file';
  constructor(
    readonly chunks: readonly Buffer[],
    readonly size: number,
    public modTime: Date,
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

/**
 * Everything an in-memory driver holds. Two drivers constructed over the same store see the same
 * files and uploads, as two processes would see one real backend.
 */
export class MemoryStore {
  /** The committed tree (the drivers' own; not part of the API). @internal */
  readonly root = new DirNode(new Date());
  /** Unfinished uploads by path (the drivers' own; not part of the API). @internal */
  readonly uploads = new Map<string, StagedUpload>();
}
