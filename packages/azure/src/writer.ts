/**
 * The writer: bytes are buffered up to a block size and staged as uncommitted blocks of the
 * target blob, a few at once; close() stages the buffered tail as a block of any size; commit()
 * commits the block list (Put Block List) or, for an upload that never needed a block, puts the
 * buffer as the whole blob (Put Blob). Both are atomic: readers see the old content or the new.
 * See blocks.ts for how an upload is found again from its block ids.
 */
import { BaseFileWriter, StorageDriverError, type FileWriterInit } from '@stowage/core';
import { MAX_SEQ, MAX_SESSION, blockId, type UploadId } from './blocks';

/** Azure's limit of committed blocks per blob. */
export const MAX_COMMITTED_BLOCKS = 50_000;

/** Where a writer's blocks go and how its commit and cancel are done (the driver provides it). */
export interface WriterHost {
  readonly driverName: string;
  readonly blockSize: number;
  readonly uploadConcurrency: number;
  stageBlock(blobName: string, id: string, body: Buffer, signal?: AbortSignal): Promise<void>;
  commitBlocks(blobName: string, ids: string[], signal?: AbortSignal): Promise<void>;
  putBlob(blobName: string, body: Buffer, signal?: AbortSignal): Promise<void>;
  /** Drops the staged blocks of `upload` unless a newer upload owns the blob; keeps committed content. */
  discardUpload(blobName: string, upload: UploadId, path: string): Promise<void>;
}

/** What a new or resumed writer starts from. */
export interface UploadPlan {
  upload: UploadId;
  /** Committed block ids the upload follows (mode `a`). */
  base: string[];
  /** The upload's blocks staged by earlier sessions, in order. */
  chain: string[];
  nextSeq: number;
  session: number;
  /** Some block of the upload is on the server already (so close() need not mark it as existing). */
  staged: boolean;
}

/**
 * Cuts a byte stream into blocks and stages them, up to `concurrency` at once, in sequence order
 * of their ids (completion order does not matter). The first failure is kept and rethrown by the
 * next call; the ids of every block handed out are in `ids`, in order.
 */
export class BlockStager {
  readonly ids: string[];
  private seq: number;
  private buffer: Buffer | undefined;
  private filled = 0;
  private readonly spare: Buffer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private anyStaged = false;

  constructor(
    private readonly stage: (id: string, body: Buffer, signal?: AbortSignal) => Promise<void>,
    private readonly idFor: (seq: number) => string,
    private readonly blockSize: number,
    private readonly concurrency: number,
    firstSeq = 0,
    ids: string[] = [],
    /** The most blocks the upload may have (its commit must stay within Azure's 50,000). */
    private readonly maxBlocks = MAX_COMMITTED_BLOCKS,
    private readonly tooLarge: (blocks: number) => Error = (blocks) => new RangeError(`${blocks} blocks exceed Azure's limit of ${MAX_COMMITTED_BLOCKS} per blob`),
  ) {
    this.seq = firstSeq;
    this.ids = ids;
  }

  /** Bytes buffered and not yet handed to a stage call. */
  get buffered(): Buffer {
    return this.buffer ? this.buffer.subarray(0, this.filled) : Buffer.alloc(0);
  }

  /** At least one block of this stager reached the server. */
  get stagedAny(): boolean {
    return this.anyStaged;
  }

  /** Copies `chunk` in (the caller may reuse it afterwards); stages each block as it fills. */
  async push(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    this.throwIfFailed();
    let offset = 0;
    while (offset < chunk.length) {
      this.buffer ??= this.spare.pop() ?? Buffer.allocUnsafe(this.blockSize);
      const n = Math.min(chunk.length - offset, this.blockSize - this.filled);
      chunk.copy(this.buffer, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.blockSize) await this.dispatch(signal);
    }
  }

  /** Stages the buffered tail (any size) and waits for every block; rethrows a failure. */
  async flush(signal?: AbortSignal): Promise<void> {
    if (this.filled > 0) await this.dispatch(signal);
    await this.settle();
    this.throwIfFailed();
  }

  /** Waits for the blocks in flight, ignoring failures. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async dispatch(signal?: AbortSignal): Promise<void> {
    // Fail on the write that would need one block too many, not at commit after staging them all.
    if (this.seq >= Math.min(this.maxBlocks, MAX_SEQ + 1)) throw this.tooLarge(this.seq + 1);
    const block = this.buffer!;
    const body = block.subarray(0, this.filled);
    const id = this.idFor(this.seq++);
    this.ids.push(id);
    this.buffer = undefined;
    this.filled = 0;
    const staging: Promise<void> = this.stage(id, body, signal).then(
      () => {
        this.anyStaged = true;
      },
      (err: unknown) => {
        this.failure ??= err;
      },
    );
    const tracked = staging.finally(() => {
      this.inFlight.delete(tracked);
      if (block.length === this.blockSize && this.spare.length < this.concurrency) this.spare.push(block);
    });
    this.inFlight.add(tracked);
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/** An upload that would need more blocks than Azure commits to one blob. */
export function tooManyBlocks(driverName: string, path: string, blocks: number, blockSize: number): StorageDriverError {
  return new StorageDriverError(
    driverName,
    new Error(`the upload needs ${blocks} blocks of ${blockSize} bytes and Azure commits at most ${MAX_COMMITTED_BLOCKS} per blob; use a larger blockSize`),
    { operation: 'write', path },
  );
}

export class AzureFileWriter extends BaseFileWriter {
  private readonly stager: BlockStager;
  private readonly blobName: string;
  private readonly plan: UploadPlan;

  constructor(
    init: FileWriterInit,
    private readonly host: WriterHost,
    blobName: string,
    plan: UploadPlan,
  ) {
    super(init);
    if (plan.session > MAX_SESSION) {
      throw new StorageDriverError(host.driverName, new Error(`the upload was resumed more than ${MAX_SESSION} times`), { operation: 'writer', path: init.path });
    }
    this.blobName = blobName;
    this.plan = plan;
    this.stager = new BlockStager(
      (id, body, signal) => host.stageBlock(blobName, id, body, signal),
      (seq) => blockId(plan.upload, 'd', seq, plan.session),
      host.blockSize,
      host.uploadConcurrency,
      plan.nextSeq,
      [...plan.chain],
      MAX_COMMITTED_BLOCKS - plan.base.length,
      (blocks) => tooManyBlocks(host.driverName, init.path, plan.base.length + blocks, host.blockSize),
    );
  }

  /**
   * Feeds bytes that are part of the upload but not written by the caller (committed content
   * copied in when appending to a blob that has no usable block list); `size` already counts them.
   */
  async preload(chunk: Buffer): Promise<void> {
    await this.stager.push(chunk, this.signal);
  }

  protected async _write(chunk: Buffer): Promise<void> {
    await this.stager.push(chunk, this.signal);
  }

  protected async _close(): Promise<void> {
    // Closing persists what was written even after an abort: no signal here.
    await this.stager.flush();
    if (this.plan.upload.mode === 'n' && !this.plan.staged && !this.stager.stagedAny) {
      // Nothing was ever staged: a marker block makes the (empty) upload exist, so that a
      // resumed writer continues it rather than an older upload or the committed content.
      await this.host.stageBlock(this.blobName, blockId(this.plan.upload, 'm', 0, this.plan.session), Buffer.alloc(1));
    }
  }

  protected async _commit(): Promise<void> {
    if (this.plan.base.length === 0 && this.stager.ids.length === 0 && !this.plan.staged) {
      // Everything is in the buffer: one Put Blob, atomic by itself and independent of any
      // staged block (so concurrent writers of one path cannot break each other's commit).
      await this.host.putBlob(this.blobName, this.stager.buffered, this.signal);
      return;
    }
    // Committing a block list also clears this upload's marker blocks, which Azurite's Put Blob
    // would leave behind.
    await this.stager.flush(this.signal);
    await this.host.commitBlocks(this.blobName, [...this.plan.base, ...this.stager.ids], this.signal);
  }

  protected async _cancel(): Promise<void> {
    await this.stager.settle();
    // Nothing of this upload was ever sent to Azure: nothing to discard. (A block whose stage
    // call failed may still have arrived, so any attempt counts.)
    if (!this.plan.staged && this.stager.ids.length === this.plan.chain.length) return;
    await this.host.discardUpload(this.blobName, this.plan.upload, this.path);
  }
}
