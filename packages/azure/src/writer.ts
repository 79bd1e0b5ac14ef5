/**
 * The writer: bytes are buffered up to a block size and staged as uncommitted blocks of the
 * target blob, a few at once; close() stages the buffered tail as a block of any size; commit()
 * commits the block list (Put Block List) or, for an upload that never needed a block, puts the
 * buffer as the whole blob (Put Blob). Both are atomic: readers see the old content or the new.
 * See blocks.ts for how an upload is found again from its block ids.
 */
import { BaseFileWriter, StorageDriverError, UploadFencedError, type FileWriterInit } from '@stowage/core';
import { MAX_GEN, MAX_SEQ, dataBlockId, liveness, openMarkerId, type ListedBlock, type SessionId, type UploadId } from './blocks';

/**
 * How old a check may be that lets a block go out while writing (ms). A check before every
 * block cost a fifth of the write throughput against Azurite (a Get Block List per 4 MiB); this
 * way a fast writer makes a few checks a second, and a fenced one stops within this time.
 */
export const CHECK_REUSE_MS = 250;

/** Azure's limit of committed blocks per blob. */
export const MAX_COMMITTED_BLOCKS = 50_000;

/** A blob's block lists as Get Block List reports them. */
export interface BlockListing {
  committed: ListedBlock[];
  uncommitted: ListedBlock[];
  /** Length of the committed content (0 when there is none). */
  contentLength: number;
  /** The blob's ETag (Azurite reports one even for a blob that has only uncommitted blocks). */
  etag?: string;
}

/** Where a writer's blocks go and how its commit and cancel are done (BlockUploads implements it). */
export interface WriterHost {
  readonly driverName: string;
  readonly blockSize: number;
  readonly uploadConcurrency: number;
  stageBlock(blobName: string, id: string, body: Buffer, signal?: AbortSignal): Promise<void>;
  /** Get Block List, both lists or (`committed` then empty) the uncommitted one; undefined when the blob has neither. */
  readBlocks(blobName: string, lists: 'all' | 'uncommitted', signal?: AbortSignal): Promise<BlockListing | undefined>;
  /**
   * Put Block List conditional on the blob being as `seen` showed it. Fails with
   * UploadFencedError when it was committed, replaced or deleted since, or the blocks are gone.
   * `recheck` confirms the writer is still live when the condition has to be taken again.
   */
  commitUpload(blobName: string, path: string, ids: string[], seen: BlockListing, recheck: () => Promise<unknown>, signal?: AbortSignal): Promise<void>;
  /** Drops every uncommitted block of the blob (the live writer's cancel); keeps committed content. */
  discardUpload(blobName: string, seen: BlockListing): Promise<void>;
}

/** What a new or resumed writer starts from. */
export interface UploadPlan {
  upload: UploadId;
  /** Committed block ids the upload follows (mode `a`). */
  base: string[];
  /** The upload's blocks staged by earlier sessions, in order. */
  chain: string[];
  nextSeq: number;
  /** This writer's session: one gen more than any on the blob when it opened. */
  session: SessionId;
  /** The session it resumes (the upload's newest when it opened); none for a new upload. */
  pred?: SessionId;
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

  /** Forgets the buffered bytes and spare buffers (a fenced writer's must never go out). */
  drop(): void {
    this.buffer = undefined;
    this.filled = 0;
    this.spare.length = 0;
  }

  /** Waits for the blocks in flight, ignoring failures. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async dispatch(signal?: AbortSignal): Promise<void> {
    // Fail on the write that would need one block too many, not at commit after staging them all.
    if (this.seq >= Math.min(this.maxBlocks, MAX_SEQ)) throw this.tooLarge(this.seq + 1);
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

/**
 * A writer session. Opening stages its open marker (see blocks.ts), which makes it the one live
 * writer of the blob and fences every earlier one. Before each block goes out, before close and
 * before commit it reads the block list to see whether it is still live; once it is not, every
 * call fails with UploadFencedError and nothing more of it reaches Azure. Its commit names exactly
 * the blocks of its own chain, conditional on the committed blob being as the last check saw it.
 */
export class AzureFileWriter extends BaseFileWriter {
  private readonly stager: BlockStager;
  private readonly blobName: string;
  private readonly plan: UploadPlan;
  private readonly markerId: string;
  private opened = false;
  /** The last check made for a block: when it started, and its outcome. */
  private lastCheck: { started: number; outcome: Promise<void> } | undefined;
  /** Close and commit: the tail block waits for a check of its own. */
  private finishing = false;

  constructor(
    init: FileWriterInit,
    private readonly host: WriterHost,
    blobName: string,
    plan: UploadPlan,
  ) {
    super(init);
    if (plan.session.gen > MAX_GEN) {
      throw new StorageDriverError(host.driverName, new Error(`the upload was resumed more than ${MAX_GEN} times`), { operation: 'writer', path: init.path });
    }
    this.blobName = blobName;
    this.plan = plan;
    this.markerId = openMarkerId(plan.upload, plan.nextSeq, plan.session, plan.pred);
    this.stager = new BlockStager(
      (id, body, signal) => this.stageChecked(id, body, signal),
      (seq) => dataBlockId(plan.upload, seq, plan.session),
      host.blockSize,
      host.uploadConcurrency,
      plan.nextSeq,
      [...plan.chain],
      MAX_COMMITTED_BLOCKS - plan.base.length,
      (blocks) => tooManyBlocks(host.driverName, init.path, plan.base.length + blocks, host.blockSize),
    );
  }

  /**
   * Stages the open marker: from here on this is the upload's one live writer. Bytes preloaded
   * before are staged first, in full.
   */
  async open(signal?: AbortSignal): Promise<void> {
    await this.stager.flush(signal);
    await this.host.stageBlock(this.blobName, this.markerId, Buffer.alloc(1), signal);
    this.opened = true;
  }

  /** Waits for blocks in flight of a writer that failed to open. */
  async abandon(): Promise<void> {
    await this.stager.settle();
  }

  /**
   * Feeds bytes that are part of the upload but not written by the caller (committed content
   * copied in when appending to a blob that has no usable block list), before open(); `size`
   * already counts them.
   */
  async preload(chunk: Buffer): Promise<void> {
    await this.stager.push(chunk, this.signal);
  }

  protected async _write(chunk: Buffer): Promise<void> {
    await this.stager.push(chunk, this.signal);
  }

  protected async _close(): Promise<void> {
    // Closing persists what was written even after an abort: no signal here. The buffered tail
    // is checked before it goes out; with no tail, the check is made here.
    const tail = this.stager.buffered.length > 0;
    this.finishing = true;
    await this.stager.flush();
    if (!tail) await this.requireLive('close', 'uncommitted');
  }

  protected async _commit(): Promise<void> {
    this.finishing = true;
    await this.stager.flush(this.signal);
    const seen = await this.requireLive('commit', 'all', this.signal);
    await this.host.commitUpload(this.blobName, this.path, [...this.plan.base, ...this.stager.ids], seen, () => this.requireLive('commit', 'all', this.signal), this.signal);
  }

  protected async _cancel(): Promise<void> {
    await this.stager.settle();
    await this.host.discardUpload(this.blobName, await this.requireLive('cancel', 'all'));
  }

  protected override async _release(): Promise<void> {
    this.stager.drop();
  }

  /**
   * Stages one block once a check has found this writer still live: while writing, a check that
   * started less than CHECK_REUSE_MS ago (blocks in flight together share it); the tail that
   * close or commit stages waits for a check of its own. Preloaded blocks go out before the
   * marker, while the writer is not yet live, and unchecked.
   */
  private async stageChecked(id: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.opened) {
      if (this.finishing || !this.lastCheck || Date.now() - this.lastCheck.started >= CHECK_REUSE_MS) {
        const outcome = this.requireLive('write', 'uncommitted', signal).then(() => undefined);
        outcome.catch(() => undefined); // awaited below, and by the blocks that share it
        this.lastCheck = { started: Date.now(), outcome };
      }
      await this.lastCheck.outcome;
    }
    await this.host.stageBlock(this.blobName, id, body, signal);
  }

  /**
   * The block list, when this writer is still the live one; UploadFencedError when it is not.
   * Only commit (for its condition) and cancel (to keep the content) need the committed list,
   * which can be long; the checks before each block read the uncommitted one.
   */
  private async requireLive(operation: string, lists: 'all' | 'uncommitted', signal?: AbortSignal): Promise<BlockListing> {
    const listing = await this.host.readBlocks(this.blobName, lists, signal);
    const state = liveness(listing?.uncommitted ?? [], this.markerId, this.plan.session);
    if (listing && state === 'live') return listing;
    const why = state === 'superseded' ? 'a newer writer opened this upload' : "this writer's staged blocks were discarded (another writer committed, or the path was rewritten, deleted or purged)";
    throw new UploadFencedError(this.host.driverName, this.path, operation, new Error(why));
  }
}
