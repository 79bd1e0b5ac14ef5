/**
 * The writer: bytes are buffered up to a block size and staged as uncommitted blocks of the
 * target blob, a few at once (core's PartedFileWriter runs that lifecycle); close() stages the
 * buffered tail as a block of any size; commit() stages it too and commits the block list (Put
 * Block List), which is atomic: readers see the old content or the new. See blocks.ts for how an
 * upload is found again from its block ids.
 */
import { PartQueue, PartedFileWriter, StorageDriverError, UploadFencedError, type FileWriterInit } from '@stowage/core';
import { MAX_GEN, MAX_SEQ, dataBlockId, liveness, openMarkerId, type ListedBlock, type SessionId, type UploadId } from './blocks';

/**
 * How old a check may be that lets a block go out while writing (ms). A check before every
 * block cost a fifth of the write throughput against Azurite (a Get Block List per 4 MiB); this
 * way a fast writer makes a few checks a second, and a fenced one stops within this time.
 */
const CHECK_REUSE_MS = 250;

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
 * Stages a byte stream as blocks outside a writer session (putContent beyond one Put Blob, a
 * discard's copy of committed content), on core's PartQueue: each block goes out as soon as it is
 * full, up to `concurrency` at once, with ids in sequence order (completion order does not
 * matter). The first failure is kept and rethrown by the next call; the ids of every block handed
 * out are in `ids`, in order.
 */
export class BlockStager {
  readonly ids: string[] = [];
  private readonly queue: PartQueue;

  constructor(
    stage: (id: string, body: Buffer) => Promise<void>,
    idFor: (seq: number) => string,
    options: {
      blockSize: number;
      concurrency: number;
      /** The most blocks the upload may have (its commit must stay within Azure's 50,000). */
      maxBlocks?: number;
      tooLarge?: (blocks: number) => Error;
    },
  ) {
    const maxBlocks = Math.min(options.maxBlocks ?? MAX_COMMITTED_BLOCKS, MAX_SEQ);
    const tooLarge = options.tooLarge ?? ((blocks: number) => new RangeError(`${blocks} blocks exceed Azure's limit of ${MAX_COMMITTED_BLOCKS} per blob`));
    // Part n is the block of seq n - 1.
    this.queue = new PartQueue(
      options.blockSize,
      options.concurrency,
      async (n) => {
        if (n > maxBlocks) throw tooLarge(n);
      },
      async (n, body) => {
        const id = idFor(n - 1);
        this.ids.push(id);
        await stage(id, body);
      },
    );
    this.queue.sendWhenFull();
  }

  /** Bytes buffered and not yet handed to a stage call. */
  get buffered(): Buffer {
    return this.queue.buffered();
  }

  /** Copies `chunk` in (the caller may reuse it afterwards); stages each block as it fills. */
  async push(chunk: Buffer): Promise<void> {
    this.queue.throwIfFailed();
    const next = this.queue.nextPartNumber;
    await this.queue.write(chunk);
    if (this.queue.nextPartNumber !== next) this.queue.throwIfFailed();
  }

  /** Stages the buffered tail (any size) and waits for every block; rethrows a failure. */
  async flush(): Promise<void> {
    try {
      await this.queue.flush();
    } finally {
      await this.queue.settle();
    }
    this.queue.throwIfFailed();
  }

  /** Waits for the blocks in flight, ignoring failures. */
  async settle(): Promise<void> {
    await this.queue.settle();
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
 *
 * Core's PartedFileWriter keeps the blocks (its parts: part n is the block of seq n - 1, the ids
 * are the parts) and decides when the hooks below run; each block goes out as soon as it is full.
 */
export class AzureFileWriter extends PartedFileWriter<string> {
  private readonly blobName: string;
  private readonly plan: UploadPlan;
  private readonly markerId: string;
  private opened = false;
  /** The last check made for a block: when it started, and its outcome. */
  private lastCheck: { started: number; outcome: Promise<void> } | undefined;
  /** Close and commit: the tail block waits for a check of its own. */
  private finishing = false;
  /** Close: its tail goes out without the writer's signal. */
  private closing = false;
  /** Close found bytes buffered and sent them as a block (whose check stands for the close's). */
  private closeTail = false;

  constructor(
    init: FileWriterInit,
    private readonly host: WriterHost,
    blobName: string,
    plan: UploadPlan,
  ) {
    // The chain of a resumed upload is its blocks 0..nextSeq - 1 (blocks.ts: nextSeq = chain length).
    super(init, {
      partSize: host.blockSize,
      concurrency: host.uploadConcurrency,
      stored: plan.chain.map((id, i) => [i + 1, id] as const),
      sendWhenFull: true,
    });
    if (plan.session.gen > MAX_GEN) {
      throw new StorageDriverError(host.driverName, new Error(`the upload was resumed more than ${MAX_GEN} times`), { operation: 'writer', path: init.path });
    }
    this.blobName = blobName;
    this.plan = plan;
    this.markerId = openMarkerId(plan.upload, plan.nextSeq, plan.session, plan.pred);
  }

  /**
   * Stages the open marker: from here on this is the upload's one live writer. Bytes preloaded
   * before are staged first, in full. The marker's id is fixed when the writer is made, so a stage
   * whose answer was lost and that the SDK sends again stages the same block id again (Put Block
   * replaces it): one marker, never two. An open the caller makes anew reads this marker's gen and
   * takes a higher one, which fences this session.
   */
  async open(signal?: AbortSignal): Promise<void> {
    await this.flushParts();
    this.throwIfPartFailed();
    await this.host.stageBlock(this.blobName, this.markerId, Buffer.alloc(1), signal);
    this.opened = true;
  }

  /** Waits for blocks in flight of a writer that failed to open. */
  async abandon(): Promise<void> {
    await this.settleInFlight();
  }

  /**
   * Feeds bytes that are part of the upload but not written by the caller (committed content
   * copied in when appending to a blob that has no usable block list), before open(); `size`
   * already counts them.
   */
  async preload(chunk: Buffer): Promise<void> {
    await this._write(chunk);
  }

  /** Once a block failed, the write that sent a block and every later one fail with its error. */
  protected override async _write(chunk: Buffer): Promise<void> {
    this.throwIfPartFailed();
    const next = this.nextPartNumber;
    await super._write(chunk);
    if (this.nextPartNumber !== next) this.throwIfPartFailed();
  }

  /** Fails on the write that would need one block too many, not at commit after staging them all. */
  protected async _beginPart(n: number): Promise<void> {
    const { base } = this.plan;
    if (n > Math.min(MAX_COMMITTED_BLOCKS - base.length, MAX_SEQ)) throw tooManyBlocks(this.driverName, this.path, base.length + n, this.partSize);
  }

  /**
   * Stages block seq n - 1 once a check has found this writer still live: while writing, a check
   * that started less than CHECK_REUSE_MS ago (blocks in flight together share it); the tail that
   * close or commit stages waits for a check of its own. Preloaded blocks go out before the
   * marker, while the writer is not yet live, and unchecked.
   */
  protected async _sendPart(n: number, body: Buffer): Promise<string> {
    const id = dataBlockId(this.plan.upload, n - 1, this.plan.session);
    const signal = this.closing ? undefined : this.signal;
    if (this.opened) {
      if (this.finishing || !this.lastCheck || Date.now() - this.lastCheck.started >= CHECK_REUSE_MS) {
        const outcome = this.requireLive('write', 'uncommitted', signal).then(() => undefined);
        outcome.catch(() => undefined); // awaited below, and by the blocks that share it
        this.lastCheck = { started: Date.now(), outcome };
      }
      await this.lastCheck.outcome;
    }
    await this.host.stageBlock(this.blobName, id, body, signal);
    return id;
  }

  /**
   * Close and commit send the buffered tail as a block of any size at once, its own check first,
   * alongside the blocks still in flight; PartedFileWriter then waits for them all. Closing
   * persists what was written even after an abort: its tail goes out without the signal.
   */
  protected override async _close(): Promise<void> {
    this.closeTail = this.buffered().length > 0;
    this.finishing = true;
    this.closing = true;
    try {
      await this.sendBufferedPart();
    } catch (err) {
      this.releaseBuffers();
      throw err;
    }
    await super._close();
  }

  /** With no tail, close makes the check itself. */
  protected async _closeParts(): Promise<void> {
    this.throwIfPartFailed();
    if (!this.closeTail) await this.requireLive('close', 'uncommitted');
  }

  protected override async _commit(): Promise<void> {
    this.finishing = true;
    await this.sendBufferedPart();
    await super._commit();
  }

  /**
   * No block of this upload is stored (a new upload, or an append to committed blocks) and _commit
   * sent no tail: the commit is Put Block List all the same (it drops the upload's marker, which
   * Azurite's Put Blob would leave behind).
   */
  protected async _commitSmall(): Promise<void> {
    await this._commitParts(this.confirmedParts());
  }

  protected async _commitParts(ids: string[]): Promise<void> {
    const seen = await this.requireLive('commit', 'all', this.signal);
    await this.host.commitUpload(
      this.blobName,
      this.path,
      [...this.plan.base, ...ids],
      seen,
      () => this.requireLive('commit', 'all', this.signal),
      this.signal,
    );
  }

  protected async _discard(): Promise<void> {
    await this.host.discardUpload(this.blobName, await this.requireLive('cancel', 'all'));
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
    const why =
      state === 'superseded'
        ? 'a newer writer opened this upload'
        : "this writer's staged blocks were discarded (another writer committed, or the path was rewritten, deleted or purged)";
    throw new UploadFencedError(this.host.driverName, this.path, operation, new Error(why));
  }
}
