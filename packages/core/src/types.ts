import type { Readable, Writable } from 'node:stream';

/** What stat and walk report about a path. Directories have size 0. */
export interface FileInfo {
  /** The path asked for (stat) or found (walk). */
  path: string;
  /** Bytes of committed content; 0 for a directory. */
  size: number;
  /** When the content was last committed (a directory: the backend's best answer). */
  modTime: Date;
  isDir: boolean;
}

/** Options every driver method accepts. */
export interface OpOptions {
  /** Aborting rejects the operation with an OperationAbortedError (code ERR_ABORTED). */
  signal?: AbortSignal;
}

/** Options of StorageDriver.redirectURL. */
export interface RedirectOptions extends OpOptions {
  /** The HTTP method the URL is for; defaults to GET. */
  method?: 'GET' | 'HEAD';
  /** How long the URL stays valid, in seconds; each driver has its own default (20 minutes for the clouds). */
  expiresIn?: number;
}

/** Options of StorageDriver.walk. */
export interface WalkOptions {
  /** Skip every path up to and including this one, in walk order; the hint itself need not exist. */
  startAfterHint?: string;
}

/** What a walk callback may return: nothing to go on, 'skip' to skip a directory's subtree, 'stop' to end the walk. */
export type WalkResult = void | 'skip' | 'stop';
/** The callback of StorageDriver.walk, called once per file and directory. */
export type WalkFn = (info: FileInfo) => WalkResult | Promise<WalkResult>;

/** Options of FileWriter.asWritable. */
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
  /**
   * Appends `chunk` to the upload; nothing becomes visible before {@link FileWriter.commit}. The
   * caller may reuse the buffer once the promise resolves.
   * @throws WriterStateError after close, commit or cancel, or after a failed call.
   * @throws UploadFencedError once the driver can tell that a newer writer took the upload over.
   * @throws StorageFullError when the backend has no space left (the chunk is not stored).
   */
  write(chunk: Uint8Array): Promise<void>;
  /** All bytes written so far, earlier sessions included (what a resumed writer starts from). */
  readonly size: number;
  /**
   * Flushes what is buffered and ends this session; the upload stays resumable with
   * `writer(path, true)`, from this process or any other, and stays invisible. A no-op once the
   * writer is finished.
   * @throws UploadFencedError when a newer writer took the upload over (nothing changes).
   */
  close(): Promise<void>;
  /**
   * Discards everything written, earlier sessions included, and leaves no trace of the upload.
   * @throws WriterStateError after close or commit.
   * @throws UploadFencedError when a newer writer took the upload over (the newer upload stays).
   */
  cancel(): Promise<void>;
  /**
   * Makes the content visible at the path, atomically: readers see the old content or the new,
   * never a mix, and it never changes after commit returns. It publishes exactly the bytes of
   * this writer sequence (this session and the sessions it resumed).
   * @throws WriterStateError after close, commit or cancel.
   * @throws UploadFencedError when a newer writer took the upload over (nothing is published).
   * @throws NotDurableError (`published: true`) when the content is visible but syncing it to
   *   disk failed; the writer is committed all the same.
   */
  commit(): Promise<void>;
  /**
   * A Node Writable over this writer, for `stream.pipeline`; `onFinish` says whether it closes or
   * commits the writer when the stream ends.
   */
  asWritable(options?: AsWritableOptions): Writable;
}

/**
 * What a driver can do beyond the contract every driver keeps, declared rather than probed (as
 * abstract-level's `supports` manifest): callers and the conformance suite read it before use.
 */
export interface DriverCapabilities {
  /**
   * redirectURL returns URLs a client can fetch the content from (presigned, SAS, TempURL, signed).
   * It may still return null for a method the driver does not sign.
   */
  readonly redirect: boolean;
}

/**
 * A driver that can list the hidden state it keeps for paths at or below `prefix` (staged uploads,
 * segments, uncommitted blocks, temp files): empty when every upload was committed or cancelled.
 * The conformance suite checks it after every test; operators can use it to find what a crash left.
 * Test for it with `hasLeftovers(driver)`.
 */
export interface LeftoverInspector {
  leftovers(prefix?: string): Promise<string[]>;
}

/**
 * A storage backend for large immutable blobs, as distribution's `storagedriver.StorageDriver`.
 *
 * Paths match `^(/[A-Za-z0-9._-]+)+$` with no `.` or `..` component, so no path leaves the
 * driver's root; `/` alone is accepted by list, stat and walk. A bad path throws InvalidPathError
 * before any I/O. Directories exist while they hold files, as in object stores. Every method takes
 * an AbortSignal; an aborted operation rejects with OperationAbortedError (`ERR_ABORTED`). Errors
 * are typed (see the guards `isPathNotFound`, `isInvalidPath`, ...), carry `code`, `driverName`
 * and `path`, and never contain credentials; backend failures without a better type are
 * StorageDriverError with the original in `cause`.
 */
export interface StorageDriver {
  /** The name the driver is registered under (`filesystem`, `s3`, ...); errors start with it. */
  readonly name: string;
  /** What this driver can do beyond the baseline contract. */
  readonly supports: DriverCapabilities;
  /**
   * The whole committed content at `path`.
   * @throws PathNotFoundError when nothing is committed there (also for a directory).
   */
  getContent(path: string, opts?: OpOptions): Promise<Buffer>;
  /**
   * Writes `content` to `path` in one step, replacing what was there, atomically as a commit.
   * @throws InvalidArgumentError when `content` is not bytes.
   */
  putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void>;
  /**
   * A stream of the committed content from byte `offset` (default 0); an offset at or past the end
   * gives an empty stream. Stream errors arrive mapped to typed errors.
   * @throws InvalidOffsetError for a negative or non-integer offset.
   * @throws PathNotFoundError when nothing is committed there, whatever the offset.
   */
  reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable>;
  /**
   * A writer for `path`. append=false starts a fresh upload (an unfinished one there is discarded);
   * append=true resumes the unfinished upload, from any process, or else continues from the
   * committed content (PathNotFoundError when there is neither). Either way every earlier writer
   * of the upload is fenced (see FileWriter).
   */
  writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter>;
  /**
   * What is at `path`: a file (size, modification time) or a directory (size 0).
   * @throws PathNotFoundError when there is neither.
   */
  stat(path: string, opts?: OpOptions): Promise<FileInfo>;
  /**
   * Full paths of the direct children of directory `path`, sorted; `list('/')` always works.
   * @throws PathNotFoundError for a missing directory or a file.
   */
  list(path: string, opts?: OpOptions): Promise<string[]>;
  /**
   * Moves a committed file to `destPath`, replacing what is there and creating its parents.
   * @throws PathNotFoundError when nothing is committed at `sourcePath`.
   */
  move(sourcePath: string, destPath: string, opts?: OpOptions): Promise<void>;
  /**
   * Deletes `path` and everything below it, never a sibling that shares its prefix (`/ab` for
   * `/a`). Unfinished uploads are left to purgeUploads. `delete('/')` is refused.
   * @throws PathNotFoundError when nothing is there.
   */
  delete(path: string, opts?: OpOptions): Promise<void>;
  /**
   * A URL a client can fetch the committed content from directly (presigned, SAS, TempURL,
   * signed), valid for `expiresIn` seconds, or null when the driver has none (filesystem,
   * in-memory) or none for this method.
   */
  redirectURL(path: string, opts?: RedirectOptions): Promise<string | null>;
  /**
   * Calls `fn` for every file and directory below `path`, depth first, children in lexical order of
   * their names (`/a`, `/a/x`, `/a-b`). `fn` returning `'skip'` on a directory skips its subtree,
   * `'stop'` ends the walk; `startAfterHint` skips everything up to and including the hint. An
   * error thrown by `fn` reaches the caller unchanged.
   * @throws PathNotFoundError when `path` does not exist.
   */
  walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void>;
  /**
   * Removes the staged state of unfinished uploads last written before `olderThan` (a registry's
   * upload purging); returns how many it removed. Committed content is never touched.
   */
  purgeUploads(olderThan: Date, opts?: OpOptions): Promise<number>;
}

/** Builds a driver from distribution-style config.yml parameters. */
export type DriverFactory = (parameters: Record<string, unknown>) => StorageDriver;
