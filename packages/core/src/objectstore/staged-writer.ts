/**
 * The writer of a staged object-store upload (S3, OSS): full parts go out as UploadPart, content
 * of at most one part commits as a single PutObject, close() keeps the bytes after the last full
 * part as a tail object. How the upload's state is kept and fenced is in staged-uploads.ts.
 */
import { randomBytes } from 'node:crypto';
import type { FileWriterInit } from '../base/file-writer-base';
import { PartedFileWriter } from '../base/parted-writer';
import { InvalidArgumentError, UploadFencedError, isUploadFenced } from '../errors';
import type { OpOptions } from '../types';
import type { ObjectKeyLayout } from './key-layout';
import type { MultipartStore } from './multipart-store';
import type { StagedPart, UploadState } from './upload-state';

/**
 * What a StagedMultipartWriter needs of its upload bookkeeping (core's StagedUploads implements
 * it): the store, the keys, and the session checks and state writes of staged-uploads.ts.
 */
export interface StagedWriterHost {
  /** Where parts, tails and a small commit go. */
  readonly store: MultipartStore;
  readonly layout: Pick<ObjectKeyLayout, 'key' | 'tailKey'>;
  /** Parts one writer sends at once. */
  readonly concurrency: number;
  /** Whether `state`'s session still owns its upload. */
  owns(state: UploadState, opts: OpOptions): Promise<boolean>;
  /** Throws UploadFencedError unless `state`'s session still owns its upload. */
  requireOwner(state: UploadState, operation: string, opts: OpOptions): Promise<void>;
  /** Records a multipart upload the session just created (aborting it and throwing UploadFencedError if fenced). */
  recordUploadId(state: UploadState, uploadId: string, operation: string, opts: OpOptions): Promise<void>;
  writeState(state: UploadState, opts: OpOptions): Promise<void>;
  /** Removes the state and tail (and aborts `abortUploadId`) only if the session still owns the upload. */
  removeOwnState(state: UploadState, opts: OpOptions, abortUploadId?: string): Promise<boolean>;
  /** Aborts the multipart upload and removes the state and the tail. */
  discard(state: UploadState, opts: OpOptions): Promise<void>;
}

/**
 * The writer over StagedUploads: a part-based writer whose session owns the upload until a newer
 * writer opens; every step that stores or removes something checks that first (see
 * staged-uploads.ts).
 */
export class StagedMultipartWriter extends PartedFileWriter<StagedPart> {
  private readonly key: string;
  /** The multipart upload a commit found unused (no part stored): aborted once the state goes. */
  private unusedUploadId: string | undefined;
  /**
   * close() and cancel() must still clean up after the writer's signal fired (that is what
   * cancel is for), so their store calls do not carry it.
   */
  private readonly cleanupOpts: OpOptions = {};

  constructor(
    private readonly host: StagedWriterHost,
    init: FileWriterInit,
    /** The state as last stored (by the open, a new multipart upload), with this writer's session. */
    private readonly upload: UploadState,
    tail: Buffer | undefined,
  ) {
    super(init, {
      partSize: upload.partSize,
      concurrency: host.concurrency,
      stored: upload.parts.map((part) => [part.partNumber, part] as const),
      wholeParts: upload.uploadId !== undefined,
      preload: tail,
    });
    this.key = host.layout.key(upload.path);
  }

  private get store(): MultipartStore {
    return this.host.store;
  }

  private get opts(): OpOptions {
    return { signal: this.signal };
  }

  /** Before a part goes out: within the store's part limit, and the multipart upload exists (and is recorded). */
  protected async _beginPart(partNumber: number): Promise<void> {
    if (partNumber > this.store.maxParts) {
      throw new InvalidArgumentError(this.driverName, 'content', `exceeds ${this.store.maxParts} parts of ${this.partSize} bytes; use a larger chunk size`, {
        operation: 'write',
        path: this.path,
      });
    }
    if (this.upload.uploadId === undefined) {
      const uploadId = await this.store.createMultipartUpload(this.key, this.opts);
      await this.host.recordUploadId(this.upload, uploadId, 'write', this.opts);
    }
  }

  /** Sends one part, once this session is known to still own the upload (the part number may be a newer writer's too). */
  protected async _sendPart(partNumber: number, body: Buffer): Promise<StagedPart> {
    await this.host.requireOwner(this.upload, 'write', this.opts);
    const etag = await this.store.uploadPart(this.key, this.upload.uploadId!, partNumber, body, this.opts);
    return { partNumber, etag, size: body.length };
  }

  /** Stores the parts confirmed so far and the buffered bytes as a tail, in a new state. */
  protected async _closeParts(): Promise<void> {
    // After a failed part only the parts before it are known to be stored; resume from there.
    const parts = this.confirmedParts();
    const rest = this.buffered();
    const keepTail = !this.partFailed && rest.length > 0 && parts.length === this.nextPartNumber - 1;
    const previousTail = this.upload.tail;
    let tail: UploadState['tail'];
    if (keepTail) {
      tail = { key: this.host.layout.tailKey(this.path, randomBytes(8).toString('hex')), size: rest.length };
      await this.store.put(tail.key, rest, this.cleanupOpts);
    }
    this.releaseBuffers();
    // Checked after the tail is stored, right before the state: the narrowest window there is.
    if (!(await this.host.owns(this.upload, this.cleanupOpts))) {
      if (tail) await this.store.deleteKeys([tail.key], this.cleanupOpts);
      throw new UploadFencedError(this.driverName, this.path, 'close');
    }
    const state: UploadState = { ...this.upload, parts, size: parts.length * this.partSize + (tail?.size ?? 0) };
    if (tail) state.tail = tail;
    else delete state.tail;
    await this.host.writeState(state, this.cleanupOpts);
    if (previousTail && previousTail.key !== tail?.key) await this.store.deleteKeys([previousTail.key], this.cleanupOpts);
  }

  /**
   * No part stored: one PutObject. A multipart upload with no stored part (created, or left by a
   * failure) is not needed; it is aborted only once this session is known to still own it.
   */
  protected async _commitSmall(buffered: Buffer): Promise<void> {
    this.unusedUploadId = this.upload.uploadId;
    await this.host.requireOwner(this.upload, 'commit', this.opts);
    await this.store.put(this.key, buffered, this.opts);
  }

  protected async _commitParts(parts: StagedPart[]): Promise<void> {
    await this.host.requireOwner(this.upload, 'commit', this.opts);
    // CompleteMultipartUpload checks every part's ETag: a part a fenced writer overwrote fails it.
    await this.store.completeMultipartUpload(this.key, this.upload.uploadId!, parts, this.opts);
  }

  /** Published. A writer that opened since then owns the state (and the tail it resumed): leave them. */
  protected override async _afterCommit(): Promise<void> {
    await this.host.removeOwnState(this.upload, this.opts, this.unusedUploadId);
  }

  protected async _discard(): Promise<void> {
    await this.host.requireOwner(this.upload, 'cancel', this.cleanupOpts);
    await this.host.discard(this.upload, this.cleanupOpts);
  }

  /**
   * `err` as it is, or UploadFencedError if this session no longer owns the upload: a newer writer
   * that aborted the multipart upload makes our parts fail with NoSuchUpload, say.
   */
  protected override async _fencedOr(err: unknown, operation: string): Promise<unknown> {
    if (isUploadFenced(err)) return err;
    const owner = await this.host.owns(this.upload, this.cleanupOpts).catch(() => true);
    return owner ? err : new UploadFencedError(this.driverName, this.path, operation, err);
  }
}
