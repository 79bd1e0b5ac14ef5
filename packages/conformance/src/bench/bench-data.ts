import { GiB } from '@stowage/core';
import { TestData } from '../data';

/** Content bigger than this repeats the pool: generating 1 GiB already takes seconds. */
export const MAX_POOL_SIZE = GiB;

/**
 * Benchmark content generated once, before any timing: a pool of non-repeating TestData that
 * every benchmark takes views of, so producing content costs nothing inside a timed batch.
 * Streams larger than the pool cycle through it, chunk-aligned.
 */
export class BenchData {
  readonly pool: Buffer;
  private readonly contiguous = new Map<number, Buffer>();

  constructor(
    /** The largest single content any benchmark needs (capped at MAX_POOL_SIZE). */
    largestContent: number,
    readonly chunkSize: number,
    seed: number,
  ) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunk size must be a positive integer, got ${chunkSize}`);
    const wanted = Math.max(chunkSize, Math.min(largestContent, MAX_POOL_SIZE));
    // A whole number of chunks, so every stream chunk is one view of the pool.
    const poolSize = Math.ceil(wanted / chunkSize) * chunkSize;
    this.pool = new TestData(poolSize, seed).all();
  }

  /** `size` bytes in one Buffer: a view of the pool, or (past the pool) a copy made once and kept. */
  content(size: number): Buffer {
    if (size <= this.pool.length) return this.pool.subarray(0, size);
    let buffer = this.contiguous.get(size);
    if (!buffer) {
      buffer = Buffer.allocUnsafe(size);
      for (let at = 0; at < size; at += this.pool.length) this.pool.copy(buffer, at, 0, Math.min(this.pool.length, size - at));
      this.contiguous.set(size, buffer);
    }
    return buffer;
  }

  /** Drops the copies made by content(), e.g. once the benchmark that needed them is done. */
  release(): void {
    this.contiguous.clear();
  }

  /** `size` bytes as views of the pool, `chunkSize` each (the last one shorter). */
  *chunks(size: number): Generator<Buffer> {
    for (let at = 0; at < size; at += this.chunkSize) {
      const start = at % this.pool.length;
      yield this.pool.subarray(start, start + Math.min(this.chunkSize, size - at));
    }
  }
}
