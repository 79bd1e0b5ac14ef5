import type { Readable, Writable } from 'node:stream';

/** What stat and walk report about a path. Directories have size 0. */
export interface FileInfo {
  path: string;
  size: number;
  modTime: Date;
  isDir: boolean;
}

/** Options every driver method accepts. */
export interface OpOptions {
  /** Aborting rejects the operation with an OperationAbortedError (code ERR_ABORTED). */
  signal?: AbortSignal;
}

export interface RedirectOptions extends OpOptions {
  /** The HTTP method the URL is for; defaults to GET. */
  method?: 'GET' | 'HEAD';
  /** How long the URL stays valid, in seconds; each driver has its own default (20 minutes for the clouds). */
  expiresIn?: number;
}

export interface WalkOptions {
  /** Skip every path up to and including this one, in walk order; the hint itself need not exist. */
  startAfterHint?: string;
}

/** What a walk callback may return: nothing to go on, 'skip' to skip a directory's subtree, 'stop' to end the walk. */
export type WalkResult = void | 'skip' | 'stop';
export type WalkFn = (info: FileInfo) => WalkResult | Promise<WalkResult>;

export interface AsWritableOptions {
  /**
   * What to do when the Writable finishes (end() was called and every chunk was written):
   * 'none' (default) leaves the writer open so the caller can commit, close or cancel it;
   * 'close' closes it (resumable later); 'commit' makes the content visible.
   */
  onFinish?: 'none' | 'close' | 'commit';
}

/**
 * A resumable upload to one path. Calls are serialised: a call waits for the one before it.
 * After commit, cancel or close the writer is finished: write and commit then throw a
 * WriterStateError; close is a no-op once finished; cancel after close or commit is an error.
 *
 * One live writer per upload: opening a writer on a path (append or not, in this process or any
 * other) fences every earlier writer of that path's upload. A fenced writer's close, commit and
 * cancel fail with UploadFencedError (code ERR_UPLOAD_FENCED) and change nothing; its write fails
 * the same way once the driver can tell (at the latest when the bytes would reach the backend:
 * drivers that buffer parts may accept a chunk into memory first, and it never reaches storage).
 * A commit publishes exactly the bytes of its own writer sequence (its own session and the
 * earlier sessions it resumed), never another writer's, and committed content never changes
 * after commit returns. Drivers that cannot fence atomically say what window remains in their
 * README.
 */
export interface FileWriter {
  /** Appends `chunk`; the caller may reuse the buffer once the promise resolves. */
  write(chunk: Uint8Array): Promise<void>;
  /** All bytes written so far, earlier sessions included. */
  readonly size: number;
  /** Flush; the content stays resumable with writer(path, true), not yet visible. */
  close(): Promise<void>;
  /** Discard everything written, earlier sessions included; leave no trace. */
  cancel(): Promise<void>;
  /**
   * Make the content visible at the path, atomically. A NotDurableError (ERR_NOT_DURABLE) means it
   * is visible but syncing it to disk failed; the writer is committed all the same.
   */
  commit(): Promise<void>;
  /** A Node Writable over the same writer, for stream.pipeline. */
  asWritable(options?: AsWritableOptions): Writable;
}

export interface StorageDriver {
  readonly name: string;
  getContent(path: string, opts?: OpOptions): Promise<Buffer>;
  putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void>;
  reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable>;
  /**
   * A writer for `path`. append=false starts a fresh upload (an unfinished one there is discarded);
   * append=true resumes the unfinished upload, from any process, or else continues from the
   * committed content (PathNotFoundError when there is neither). Either way every earlier writer
   * of the upload is fenced (see FileWriter).
   */
  writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter>;
  stat(path: string, opts?: OpOptions): Promise<FileInfo>;
  list(path: string, opts?: OpOptions): Promise<string[]>;
  move(sourcePath: string, destPath: string, opts?: OpOptions): Promise<void>;
  delete(path: string, opts?: OpOptions): Promise<void>;
  /** A URL a client can fetch the content from directly, or null when the driver has none. */
  redirectURL(path: string, opts?: RedirectOptions): Promise<string | null>;
  walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void>;
  /** Remove the staged state of unfinished uploads last written before `olderThan`; returns how many. */
  purgeUploads(olderThan: Date, opts?: OpOptions): Promise<number>;
}

/** Builds a driver from distribution-style config.yml parameters. */
export type DriverFactory = (parameters: Record<string, unknown>) => StorageDriver;
