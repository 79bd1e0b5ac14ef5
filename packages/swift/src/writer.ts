/**
 * The resumable writer: bytes go out as segments of one generation (a PartQueue keeps
 * `segmentConcurrency` in flight), close() flushes the rest as a short segment, and commit puts an
 * SLO manifest over them, so nothing is visible at the path before commit and commit is one PUT.
 * Content that never filled a segment commits as one plain PUT.
 *
 * The writer holds its upload under a session of its own (uploads.ts): it checks the upload's
 * marker before each segment, close, commit and cancel, and once a newer writer has taken the
 * upload over it fails with UploadFencedError, deleting only the segments of its own that the
 * upload does not use.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BaseFileWriter, InvalidArgumentError, PartQueue, isUploadFenced, type FileWriterInit, type OpOptions } from '@stowage/core';
import type { SegmentedUploads, UploadMarker } from './uploads';
import type { StoredSegment } from './large-objects';

/** How long cancel waits, after an abort cut segment PUTs short, before it lists what to delete. */
const ABORTED_PUT_GRACE_MS = 1000;

export class SegmentWriter extends BaseFileWriter {
  private readonly segments = new Map<number, StoredSegment>();
  private readonly partQueue: PartQueue;
  /** Without the writer's signal: close and cancel must finish even after it fired. */
  private readonly cleanupOpts: OpOptions = {};

  constructor(
    private readonly uploads: SegmentedUploads,
    init: FileWriterInit,
    /** The upload this writer holds (a fresh one, resumed, or made by an append). */
    private readonly marker: UploadMarker,
    stored: StoredSegment[],
    /** The generation comes from earlier sessions (a resume), whose fenced writers may have left segments in it. */
    private readonly inheritedGeneration: boolean,
  ) {
    super(init);
    for (const segment of stored) this.segments.set(segment.index, segment);
    this.partQueue = new PartQueue(
      uploads.chunkSize,
      uploads.segmentConcurrency,
      (index) => this.beforeSegment(index),
      (index, body) => this.sendSegment(index, body),
      stored.length + 1,
    );
    if (stored.length > 0) this.partQueue.takeWholeParts();
  }

  private get opts(): OpOptions {
    return { signal: this.signal };
  }

  protected async _write(chunk: Buffer): Promise<void> {
    await this.unlessFenced(() => this.partQueue.write(chunk));
  }

  protected async _close(): Promise<void> {
    try {
      await this.unlessFenced(async () => {
        await this.partQueue.settle();
        if (!this.partQueue.failed) {
          await this.partQueue.flush();
          await this.partQueue.settle();
        }
        // The marker, written at open, already makes the upload (even an empty one) resumable.
        await this.uploads.checkHeld(this.marker, 'close', this.cleanupOpts);
      });
    } finally {
      this.partQueue.release();
    }
  }

  protected async _commit(): Promise<void> {
    await this.unlessFenced(async () => {
      await this.partQueue.settle();
      this.partQueue.throwIfFailed();
      if (this.segments.size === 0) {
        // Nothing was ever sent: one PUT of the buffered bytes.
        await this.uploads.commit(this.marker, this.partQueue.buffered(), this.inheritedGeneration, this.opts);
      } else {
        await this.partQueue.flush();
        await this.partQueue.settle();
        this.partQueue.throwIfFailed();
        await this.uploads.commit(this.marker, this.confirmedSegments(), this.inheritedGeneration, this.opts);
      }
    });
    this.partQueue.release();
  }

  protected async _cancel(): Promise<void> {
    await this.partQueue.settle();
    this.partQueue.release();
    // A segment PUT the signal cut off after its last byte may still be stored by Swift a moment
    // later, after the listing that cancel deletes from: give such stragglers time to land.
    if (this.signal?.aborted && this.partQueue.failed) await sleep(ABORTED_PUT_GRACE_MS);
    await this.unlessFenced(() => this.uploads.cancel(this.marker, this.cleanupOpts));
  }

  protected override async _release(): Promise<void> {
    this.partQueue.release();
  }

  /** Runs `step`; when it finds the writer fenced, first removes this session's unused segments. */
  private async unlessFenced(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      if (!isUploadFenced(err)) throw err;
      await this.partQueue.settle();
      const own = [...this.segments.values()].filter((s) => s.session === this.marker.session);
      // Best effort: the error to report is the fencing; what stays behind is unreferenced garbage.
      await this.uploads.dropFencedSegments(this.marker, own, this.cleanupOpts).catch(() => undefined);
      throw err;
    }
  }

  /** Before each segment: the upload must still be this writer's, and within two levels of manifests. */
  private async beforeSegment(index: number): Promise<void> {
    // Two levels of manifests: the limit squared (a million segments at Swift's default of 1000).
    const perManifest = await this.uploads.largeObjects.maxSegments(this.opts);
    if (index > perManifest * perManifest) {
      throw new InvalidArgumentError(this.driverName, 'content', `exceeds ${perManifest * perManifest} segments of ${this.uploads.chunkSize} bytes; use a larger chunksize`, {
        operation: 'write',
        path: this.path,
      });
    }
    await this.uploads.checkHeld(this.marker, 'write', this.opts);
  }

  private async sendSegment(index: number, body: Buffer): Promise<void> {
    const { session, generation } = this.marker;
    const name = this.uploads.layout.segmentName(this.path, generation, index, session);
    const etag = await this.uploads.container.put(name, body, this.opts);
    this.segments.set(index, { index, session, name, size: body.length, etag });
  }

  /** Segments 1..n known to be stored, without gaps. */
  private confirmedSegments(): StoredSegment[] {
    const segments: StoredSegment[] = [];
    for (let n = 1; this.segments.has(n); n++) segments.push(this.segments.get(n)!);
    return segments;
  }
}
