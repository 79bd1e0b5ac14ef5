import { Semaphore } from '../util/semaphore';

const MIN_BUFFER = 64 * 1024;

/** Sends one full (or, on flush, final) part; `body` is only valid until the promise settles. */
export type SendPart = (partNumber: number, body: Buffer) => Promise<void>;

/**
 * The buffering half of a multipart writer (S3/OSS parts, Swift segments). Incoming bytes fill one
 * part buffer; a full buffer goes out once more bytes arrive (so content of exactly one part can
 * still be sent some other way at commit), with up to `concurrency` parts in flight. Buffers of
 * finished parts are reused: garbage part buffers would wait for a GC and push RSS far past
 * partSize x (concurrency + 1).
 */
export class PartQueue {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly slots: Semaphore;
  private readonly spareBuffers: Buffer[] = [];
  private buffer: Buffer | undefined;
  private fill = 0;
  private failure: unknown;
  private sending = false;
  private eager = false;

  constructor(
    readonly partSize: number,
    concurrency: number,
    /** Called before each part is handed out (to create the upload, check limits); may throw. */
    private readonly beforeSend: (partNumber: number) => Promise<void>,
    private readonly send: SendPart,
    /** The number the next part gets. */
    public nextPartNumber = 1,
  ) {
    this.slots = new Semaphore(concurrency);
  }

  /** Bytes held in the buffer, not yet sent. */
  get fillLength(): number {
    return this.fill;
  }

  /** From now on buffers are taken whole (parts are going out, or already went out in an earlier session). */
  takeWholeParts(): void {
    this.sending = true;
  }

  /**
   * From now on a part goes out as soon as it is full, not once more bytes arrive (for a store
   * that commits every upload from parts, so content of exactly one part needs no other way), and
   * the write that sent it goes on once fewer than `concurrency` parts are in flight (so a part
   * that failed meanwhile is known to the caller when the write returns).
   */
  sendWhenFull(): void {
    this.eager = true;
  }

  /** The buffered bytes (a view, valid until the next write). */
  buffered(): Buffer {
    return this.buffer ? this.buffer.subarray(0, this.fill) : Buffer.alloc(0);
  }

  /** Appends `chunk`, copying it; sends full parts as more bytes arrive. */
  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.fill === this.partSize) await this.sendBuffered();
      const n = Math.min(chunk.length - offset, this.partSize - this.fill);
      this.reserve(this.fill + n);
      chunk.copy(this.buffer!, this.fill, offset, offset + n);
      this.fill += n;
      offset += n;
      if (this.eager && this.fill === this.partSize) {
        await this.sendBuffered();
        (await this.slots.acquire())();
      }
    }
  }

  /** Sends whatever is buffered as a part (nothing when the buffer is empty). */
  async flush(): Promise<void> {
    if (this.fill > 0) await this.sendBuffered();
  }

  /** Waits for every part in flight. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Rethrows the first failed part's error. */
  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Starts the buffer with bytes an earlier session left (a tail read back). */
  preload(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.reserve(bytes.length);
    bytes.copy(this.buffer!, 0);
    this.fill = bytes.length;
  }

  /** Drops every buffer (after commit, close or cancel). */
  release(): void {
    this.buffer = undefined;
    this.fill = 0;
    this.spareBuffers.length = 0;
  }

  /** Hands the buffer to `send`, waiting for a free slot first. */
  private async sendBuffered(): Promise<void> {
    this.throwIfFailed();
    const partNumber = this.nextPartNumber;
    await this.beforeSend(partNumber);
    this.sending = true;
    const release = await this.slots.acquire();
    const body = this.buffered();
    this.buffer = undefined;
    this.fill = 0;
    this.nextPartNumber++;
    const sent = this.send(partNumber, body)
      .then(
        () => {
          if (body.length === this.partSize) this.spareBuffers.push(body);
        },
        (err: unknown) => {
          this.failure ??= err;
        },
      )
      .finally(() => {
        release();
        this.inFlight.delete(sent);
      });
    this.inFlight.add(sent);
  }

  /** Grows the buffer geometrically up to one part, so small uploads never allocate a whole part. */
  private reserve(needed: number): void {
    const capacity = this.buffer?.length ?? 0;
    if (needed <= capacity) return;
    // Once parts are going out every buffer will fill: take a whole part at once (growing it would
    // leave a part's worth of garbage behind per part).
    const size = this.sending ? this.partSize : Math.min(this.partSize, Math.max(needed, capacity * 2, MIN_BUFFER));
    const grown = this.spareBuffers.pop() ?? Buffer.allocUnsafe(size);
    if (this.buffer) this.buffer.copy(grown, 0, 0, this.fill);
    this.buffer = grown;
  }
}
