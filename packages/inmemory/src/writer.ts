/**
 * The in-memory writer: bytes go straight into its StagedUpload (store.ts), and commit publishes
 * them as a new file. The store's entry for the path is the fence: a writer whose upload is no
 * longer that entry was replaced by a newer writer (fenced) or purged.
 */
import { BaseFileWriter, PathNotFoundError, UploadFencedError, type FileWriterInit } from '@stowage/core';
import { FileNode, type MemoryStore, type StagedUpload } from './store';

/** What the writer needs of its driver (InMemoryDriver implements it). */
export interface InMemoryWriterHost {
  /** The unfinished uploads by path: a path's entry is its one live upload. */
  readonly store: Pick<MemoryStore, 'uploads'>;
  /** Puts `file` at `path`, creating parent directories; replaces an existing file atomically. */
  publish(path: string, file: FileNode): void;
}

export class InMemoryFileWriter extends BaseFileWriter {
  constructor(
    init: FileWriterInit,
    private readonly upload: StagedUpload,
    private readonly host: InMemoryWriterHost,
  ) {
    super(init);
  }

  protected async _write(chunk: Buffer): Promise<void> {
    this.requireCurrent('write');
    // Copy: the caller may reuse its buffer once write() resolves.
    this.upload.chunks.push(Buffer.from(chunk));
    this.upload.size += chunk.length;
    this.upload.lastWritten = new Date();
  }

  protected async _close(): Promise<void> {
    // Nothing to flush: the staged upload already holds every byte.
    this.requireCurrent('close');
  }

  protected async _commit(): Promise<void> {
    this.requireCurrent('commit');
    // The committed file gets its own list: nothing that still holds the upload can change it.
    this.host.publish(this.path, new FileNode([...this.upload.chunks], this.upload.size, new Date()));
    this.host.store.uploads.delete(this.path);
  }

  protected async _cancel(): Promise<void> {
    this.requireCurrent('cancel');
    this.host.store.uploads.delete(this.path);
  }

  /** An upload a newer writer replaced is fenced; one that is simply gone was purged. */
  private requireCurrent(operation: string): void {
    if (this.upload.fenced) throw new UploadFencedError(this.driverName, this.path, operation);
    if (this.host.store.uploads.get(this.path) !== this.upload) {
      throw new PathNotFoundError(this.driverName, this.path, { operation, cause: new Error('the upload was purged') });
    }
  }
}
