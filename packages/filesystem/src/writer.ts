import type { FileHandle } from 'node:fs/promises';
import { BaseFileWriter, UploadFencedError, type FileWriterInit, type Semaphore } from '@stowage/core';
import { writeAll } from './fs-util';

/** The session a writer holds: its own `held-<session>` file in the upload's directory, open. */
export interface WriterSession {
  readonly session: string;
  readonly dir: string;
  readonly handle: FileHandle;
  /** Set when a newer writer of this process fences this one. */
  readonly fence: { readonly fenced: boolean };
}

/** What the writer needs of the uploads (FilesystemUploads implements it); see uploads.ts. */
export interface WriterUploads {
  /** Throws UploadFencedError (or PathNotFoundError, once purged) unless `session` still holds the upload. */
  requireHeld(path: string, dir: string, session: string, operation: string): Promise<void>;
  /** close(): the session's bytes become the upload's again, for the next writer to take; `closeHandle` runs under the lock. */
  release(path: string, dir: string, session: string, closeHandle: () => Promise<void>): Promise<void>;
  /** commit(): `publish` renames the session's file into place; returns what `publish` returned. */
  commit<T>(path: string, dir: string, session: string, publish: (file: string, sourceGone: () => Promise<Error>) => Promise<T>): Promise<T>;
  /** cancel(): removes the session's bytes; a fenced writer's cancel changes nothing. */
  cancel(path: string, dir: string, session: string): Promise<void>;
  /** A fenced writer of this process gives up its session without touching the upload. */
  forget(session: string): void;
}

/** What the writer needs from its driver, kept narrow so the two stay decoupled. */
export interface WriterHost {
  readonly limiter: Semaphore;
  readonly syncOnCommit: boolean;
  readonly uploads: WriterUploads;
  /**
   * Renames `stagedFile` to the committed file of `path` (creating parents); `sourceGone` says
   * why `stagedFile` is missing, if it is. Returns the directory to sync for durability.
   */
  publish(stagedFile: string, path: string, operation: string, sourceGone: () => Promise<Error>): Promise<string>;
  /** Fsyncs a directory after a rename into it; a failure is a NotDurableError (the change is published). */
  makeDurable(dir: string, path: string, operation: string): Promise<void>;
}

/**
 * A writer session over its own `held-<session>` file in the upload's directory (uploads.ts).
 * Bytes go straight to the file at explicit positions (no buffering of our own, so close() has
 * nothing to flush and a crash keeps every byte the kernel accepted); commit is a rename of the
 * session's own file, so readers see the old content or the new, and a fenced writer can never
 * publish another writer's bytes.
 */
export class FilesystemFileWriter extends BaseFileWriter {
  private handle: FileHandle | undefined;
  private position: number;

  /** @internal Made by FilesystemDriver from an upload it opened. */
  constructor(
    init: FileWriterInit,
    private readonly upload: WriterSession,
    private readonly host: WriterHost,
  ) {
    super(init);
    this.handle = upload.handle;
    this.position = init.size;
  }

  protected async _write(chunk: Buffer): Promise<void> {
    await this.requireHeld('write');
    const release = await this.host.limiter.acquire();
    try {
      await writeAll(this.handle!, chunk, this.position);
    } finally {
      release();
    }
    this.position += chunk.byteLength;
  }

  protected async _close(): Promise<void> {
    this.throwIfFencedHere('close');
    await this.host.uploads.release(this.path, this.upload.dir, this.upload.session, () => this.closeHandle());
  }

  protected async _commit(): Promise<void> {
    this.throwIfFencedHere('commit');
    if (this.host.syncOnCommit) await this.handle!.datasync();
    await this.closeHandle();
    const syncDir = await this.host.uploads.commit(this.path, this.upload.dir, this.upload.session, (file, sourceGone) =>
      this.host.publish(file, this.path, 'commit', sourceGone),
    );
    if (this.host.syncOnCommit) await this.host.makeDurable(syncDir, this.path, 'commit');
  }

  protected async _cancel(): Promise<void> {
    this.throwIfFencedHere('cancel');
    await this.closeHandle();
    await this.host.uploads.cancel(this.path, this.upload.dir, this.upload.session);
  }

  protected override async _release(): Promise<void> {
    this.host.uploads.forget(this.upload.session);
    await this.closeHandle();
  }

  private async requireHeld(operation: string): Promise<void> {
    this.throwIfFencedHere(operation);
    await this.host.uploads.requireHeld(this.path, this.upload.dir, this.upload.session, operation);
  }

  /** A newer writer of this process fenced this one directly (no note on disk). */
  private throwIfFencedHere(operation: string): void {
    if (this.upload.fence.fenced) throw new UploadFencedError(this.driverName, this.path, operation);
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
