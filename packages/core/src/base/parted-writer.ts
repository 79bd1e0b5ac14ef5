import { isUploadFenced } from '../errors';
import { PartQueue } from '../objectstore/part-queue';
import { BaseFileWriter, type FileWriterInit } from './file-writer-base';

/** How a part-based writer starts: its part size and what earlier sessions left. */
export interface PartedWriterOptions<Part> {
  /** Size of every full part; the buffer sends a part once it is full and more bytes arrive. */
  partSize: number;
  /** Parts in flight at once. Memory is bounded by partSize x (concurrency + 1). */
  concurrency: number;
  /**
   * Parts 1..n stored by earlier sessions, as [part number, part], in order; the next part this
   * writer sends is number n + 1.
   */
  stored: ReadonlyArray<readonly [number, Part]>;
  /**
   * Parts are going out already (or went out in an earlier session), so buffers are taken whole
   * from the start. Default: whether `stored` has any.
   */
  wholeParts?: boolean;
  /** Bytes an earlier session left after its last part (a tail read back), buffered first. */
  preload?: Buffer;
  /**
   * A part goes out as soon as it is full (Azure, which commits every upload from blocks).
   * Default: once more bytes arrive, so content of exactly one part still commits by `_commitSmall`.
   */
  sendWhenFull?: boolean;
}

/**
 * The lifecycle of a writer that uploads numbered parts (S3/OSS multipart parts, Swift segments):
 * bytes fill a part buffer, full parts go out up to `concurrency` at once, and the writer keeps the
 * parts known to be stored, the first part that failed, and the buffers, which it releases once it
 * is done. A driver says how each step reaches its storage in the protected `_hooks`; this class
 * decides when they run and keeps the order every driver relies on:
 *
 * - write: `_beginPart(n)` before part n is handed out (limits, creating the upload, the fencing
 *   check), then `_sendPart(n, body)`, concurrently with later writes.
 * - close: waits for the parts in flight, then `_closeParts()` persists what is held so that
 *   writer(path, true) resumes it; the buffers are released whatever happens.
 * - commit: waits for the parts in flight (a failed part fails the commit); then
 *   `_commitSmall(buffered)` when no part was ever stored, else the rest goes out as the last part
 *   and `_commitParts(parts)` publishes parts 1..n; buffers are released, then `_afterCommit()`.
 * - cancel: waits for the parts in flight, releases the buffers, then `_discard()`.
 *
 * Fencing: a write or commit that fails is passed through `_fencedOr`, which may find that a newer
 * writer took the upload over (a part failing because the newer writer removed the upload, say)
 * and answer UploadFencedError. Whenever a write, close, commit or cancel fails as fenced, a
 * driver that implements `_dropOwnParts` gets the parts stored, after those in flight have
 * settled, to delete those of its own that the upload does not use; its errors are ignored (the
 * error to report is the fencing).
 */
export abstract class PartedFileWriter<Part> extends BaseFileWriter {
  private readonly parts = new Map<number, Part>();
  private readonly partQueue: PartQueue;

  constructor(init: FileWriterInit, options: PartedWriterOptions<Part>) {
    super(init);
    for (const [n, part] of options.stored) this.parts.set(n, part);
    this.partQueue = new PartQueue(
      options.partSize,
      options.concurrency,
      (n) => this._beginPart(n),
      async (n, body) => {
        const part = await this._sendPart(n, body);
        this.parts.set(n, part);
      },
      options.stored.length + 1,
    );
    if (options.wholeParts ?? options.stored.length > 0) this.partQueue.takeWholeParts();
    if (options.sendWhenFull) this.partQueue.sendWhenFull();
    if (options.preload) this.partQueue.preload(options.preload);
  }

  /** The size of every full part. */
  protected get partSize(): number {
    return this.partQueue.partSize;
  }

  /**
   * Before part `n` is handed out (the previous part is on its way): check limits, create the
   * upload if there is none yet, check that this writer still holds it. Throwing fails the write.
   */
  protected abstract _beginPart(n: number): Promise<void>;
  /**
   * Stores part `n`. `body` is only valid until the promise settles; what it resolves to is kept as
   * part `n`. A failure is remembered and fails the next write, commit or the close's choices.
   */
  protected abstract _sendPart(n: number, body: Buffer): Promise<Part>;
  /**
   * close(): the parts in flight have settled. Persist what this writer holds so that
   * writer(path, true) resumes it (see `confirmedParts`, `partFailed`, `buffered`, `flushParts`).
   */
  protected abstract _closeParts(): Promise<void>;
  /** commit() of content that never needed a part: publish `buffered` (at most one part) whole. */
  protected abstract _commitSmall(buffered: Buffer): Promise<void>;
  /** commit() once every part is stored: publish parts 1..n (the last may be short). */
  protected abstract _commitParts(parts: Part[]): Promise<void>;
  /** cancel(): the parts in flight have settled; remove the upload's staged state. */
  protected abstract _discard(): Promise<void>;
  /** After a commit has published the content and released the buffers: clean-up. Default: none. */
  protected async _afterCommit(): Promise<void> {}
  /**
   * A write or commit failed with `err`: answer UploadFencedError if this writer no longer holds
   * its upload, else `err`. Default: `err` as it is.
   */
  protected async _fencedOr(err: unknown, _operation: string): Promise<unknown> {
    return err;
  }
  /**
   * When given: the writer was fenced, and `stored` are the parts it knows to be stored (the
   * parts in flight have settled). Deletes those of this session that the upload does not use.
   */
  protected _dropOwnParts?(stored: Part[]): Promise<void>;

  /** Parts 1..n that are known to be stored, without gaps. */
  protected confirmedParts(): Part[] {
    const parts: Part[] = [];
    for (let n = 1; this.parts.has(n); n++) parts.push(this.parts.get(n)!);
    return parts;
  }

  /** Some part failed (only the parts before it are known to be stored). */
  protected get partFailed(): boolean {
    return this.partQueue.failed;
  }

  /** The number the next part gets. */
  protected get nextPartNumber(): number {
    return this.partQueue.nextPartNumber;
  }

  /** The bytes buffered and not sent (a view, valid until the next write or release). */
  protected buffered(): Buffer {
    return this.partQueue.buffered();
  }

  /** Sends the buffered bytes as a (short) part, if there are any, and waits for every part. */
  protected async flushParts(): Promise<void> {
    await this.partQueue.flush();
    await this.partQueue.settle();
  }

  /**
   * Sends the buffered bytes as a (short) part now, if there are any, without waiting for the
   * parts in flight (close and commit wait for them all afterwards).
   */
  protected async sendBufferedPart(): Promise<void> {
    await this.partQueue.flush();
  }

  /** Waits for the parts in flight; a failure stays remembered (see `throwIfPartFailed`). */
  protected async settleInFlight(): Promise<void> {
    await this.partQueue.settle();
  }

  /** Rethrows the error of the first part that failed, if one did. */
  protected throwIfPartFailed(): void {
    this.partQueue.throwIfFailed();
  }

  /** Drops the buffers now (they are released after close, commit and cancel anyway). */
  protected releaseBuffers(): void {
    this.partQueue.release();
  }

  protected async _write(chunk: Buffer): Promise<void> {
    await this.guard('write', () => this.partQueue.write(chunk), true);
  }

  protected async _close(): Promise<void> {
    try {
      await this.guard(
        'close',
        async () => {
          await this.partQueue.settle();
          await this._closeParts();
        },
        false,
      );
    } finally {
      this.partQueue.release();
    }
  }

  protected async _commit(): Promise<void> {
    await this.guard(
      'commit',
      async () => {
        await this.settleParts();
        if (this.parts.size === 0) {
          await this._commitSmall(this.partQueue.buffered());
        } else {
          await this.partQueue.flush();
          await this.settleParts();
          await this._commitParts(this.confirmedParts());
        }
      },
      true,
    );
    this.partQueue.release();
    await this._afterCommit();
  }

  protected async _cancel(): Promise<void> {
    await this.partQueue.settle();
    this.partQueue.release();
    await this.guard('cancel', () => this._discard(), false);
  }

  protected override async _release(): Promise<void> {
    this.partQueue.release();
  }

  /** Waits for the parts in flight and rethrows the first failure. */
  private async settleParts(): Promise<void> {
    await this.partQueue.settle();
    this.partQueue.throwIfFailed();
  }

  /**
   * Runs `step`; a failure goes through `_fencedOr` when `explain` is set, and a fenced one through
   * `_dropOwnParts` before it is thrown.
   */
  private async guard(operation: string, step: () => Promise<void>, explain: boolean): Promise<void> {
    try {
      await step();
    } catch (err) {
      const failure = explain ? await this._fencedOr(err, operation) : err;
      if (isUploadFenced(failure) && this._dropOwnParts) {
        await this.partQueue.settle();
        await this._dropOwnParts([...this.parts.values()]).catch(() => undefined);
      }
      throw failure;
    }
  }
}
