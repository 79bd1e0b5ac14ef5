/**
 * The resumable writer: bytes go out as segments of one generation (a PartQueue keeps
 * `segmentConcurrency` in flight), close() flushes the rest as a short segment, and commit puts an
 * SLO manifest over them, so nothing is visible at the path before commit and commit is one PUT.
 * Content that never filled a segment commits as one plain PUT.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BaseFileWriter, InvalidArgumentError, PartQueue, type FileWriterInit, type OpOptions } from '@stowage/core';
import type { SegmentedUploads, UploadMarker } from './uploads';
import type { StoredSegment } from './large-objects';

/** How long cancel waits, after an abort cut segment PUTs short, before it lists what to delete. */
const ABORTED_PUT_GRACE_MS = 1000;

export class SegmentWriter extends BaseFileWriter {
  private readonly segments = new Map<number, StoredSegment>();
  private readonly partQueue: PartQueue;
  private marker: UploadMarker | undefined;
  /** Without the writer's signal: close and cancel must finish even after it fired. */
  private readonly cleanupOpts: OpOptions = {};

  constructor(
    private readonly uploads: SegmentedUploads,
    init: FileWriterInit,
    /** The upload being resumed (or made by an append), if any. */
    marker: UploadMarker | undefined,
    stored: StoredSegment[],
  ) {
    super(init);
    this.marker = marker;
    for (const segment of stored) this.segments.set(segment.index, segment);
    this.partQueue = new PartQueue(
      uploads.chunkSize,
      uploads.segmentConcurrency,
      (index) => this.beforeSegment(index),
      (index, body) => this.sendSegment(index, body),
      stored.length + 1,
    );
    if (marker) this.partQueue.takeWholeParts();
  }

  private get opts(): OpOptions {
    return { signal: this.signal };
  }

  protected async _write(chunk: Buffer): Promise<void> {
    await this.partQueue.write(chunk);
  }

  protected async _close(): Promise<void> {
    try {
      await this.partQueue.settle();
      // An empty upload must stay resumable too, so a marker exists after any close.
      if (!this.partQueue.failed) {
        if (!this.marker && this.partQueue.fillLength === 0) this.marker = await this.uploads.createMarker(this.path, this.cleanupOpts);
        await this.partQueue.flush();
        await this.partQueue.settle();
      }
      // A fresh marker time: purgeUploads measures age from the last session.
      if (this.marker) await this.uploads.writeMarker(this.marker, this.cleanupOpts);
    } finally {
      this.partQueue.release();
    }
  }

  protected async _commit(): Promise<void> {
    await this.partQueue.settle();
    this.partQueue.throwIfFailed();
    if (!this.marker) {
      // Nothing was ever sent: one PUT of the buffered bytes.
      await this.uploads.commitPlain(this.path, this.partQueue.buffered(), this.opts);
    } else {
      await this.partQueue.flush();
      await this.partQueue.settle();
      this.partQueue.throwIfFailed();
      await this.uploads.commitSegments(this.path, this.marker, this.confirmedSegments(), this.opts);
    }
    this.partQueue.release();
  }

  protected async _cancel(): Promise<void> {
    await this.partQueue.settle();
    this.partQueue.release();
    if (!this.marker) return;
    // A segment PUT the signal cut off after its last byte may still be stored by Swift a moment
    // later, after the listing that discard deletes from: give such stragglers time to land.
    if (this.signal?.aborted && this.partQueue.failed) await sleep(ABORTED_PUT_GRACE_MS);
    await this.uploads.discard(this.marker, this.cleanupOpts);
  }

  /** The first segment creates the upload (its marker), so a crash right after still leaves it findable. */
  private async beforeSegment(index: number): Promise<void> {
    // Two levels of manifests: the limit squared (a million segments at Swift's default of 1000).
    const perManifest = await this.uploads.largeObjects.maxSegments(this.opts);
    if (index > perManifest * perManifest) {
      throw new InvalidArgumentError(this.driverName, 'content', `exceeds ${perManifest * perManifest} segments of ${this.uploads.chunkSize} bytes; use a larger chunksize`, {
        operation: 'write',
        path: this.path,
      });
    }
    this.marker ??= await this.uploads.createMarker(this.path, this.opts);
  }

  private async sendSegment(index: number, body: Buffer): Promise<void> {
    const name = this.uploads.layout.segmentName(this.path, this.marker!.generation, index);
    const etag = await this.uploads.container.put(name, body, this.opts);
    this.segments.set(index, { index, name, size: body.length, etag });
  }

  /** Segments 1..n known to be stored, without gaps. */
  private confirmedSegments(): StoredSegment[] {
    const segments: StoredSegment[] = [];
    for (let n = 1; this.segments.has(n); n++) segments.push(this.segments.get(n)!);
    return segments;
  }
}
