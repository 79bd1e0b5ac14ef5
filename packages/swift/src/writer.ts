/**
 * The resumable writer: bytes go out as segments of one generation (core's PartedFileWriter keeps
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
import { InvalidArgumentError, PartedFileWriter, type FileWriterInit, type OpOptions } from '@stowage/core';
import type { StoredSegment } from './large-objects';

/** How long cancel waits, after an abort cut segment PUTs short, before it lists what to delete. */
const ABORTED_PUT_GRACE_MS = 1000;

/** The upload a writer holds: the marker of `path` names `generation`, held by `session`. */
export interface HeldUpload {
  readonly path: string;
  readonly generation: string;
  readonly session: string;
}

/** What a SegmentWriter needs of the uploads (SegmentedUploads implements it). */
export interface SegmentWriterHost {
  /** Size of every full segment. */
  readonly chunkSize: number;
  /** Segments one writer sends at once. */
  readonly segmentConcurrency: number;
  /** The most segments one manifest may name. */
  maxSegments(opts: OpOptions): Promise<number>;
  /** Stores segment `index` of `upload` under its session's name. */
  putSegment(upload: HeldUpload, index: number, body: Buffer, opts: OpOptions): Promise<StoredSegment>;
  /** Throws UploadFencedError unless `upload`'s session still holds it. */
  checkHeld(upload: HeldUpload, operation: string, opts: OpOptions): Promise<void>;
  /** Publishes `content` (segments in order, or a whole small content) and cleans up; see SegmentedUploads.commit. */
  commit(upload: HeldUpload, content: StoredSegment[] | Buffer, inherited: boolean, opts: OpOptions): Promise<void>;
  /** Removes the upload (segments of earlier sessions included) if `upload`'s session still holds it. */
  cancel(upload: HeldUpload, opts: OpOptions): Promise<void>;
  /** After the writer was fenced: deletes those of `own` that the upload does not use. */
  dropFencedSegments(upload: HeldUpload, own: StoredSegment[], opts: OpOptions): Promise<void>;
}

/** A writer session over one upload of segments; SegmentedUploads opens it and is its host. */
export class SegmentWriter extends PartedFileWriter<StoredSegment> {
  /** Without the writer's signal: close and cancel must finish even after it fired. */
  private readonly cleanupOpts: OpOptions = {};

  constructor(
    private readonly host: SegmentWriterHost,
    init: FileWriterInit,
    /** The upload this writer holds (a fresh one, resumed, or made by an append). */
    private readonly upload: HeldUpload,
    stored: StoredSegment[],
    /** The generation comes from earlier sessions (a resume), whose fenced writers may have left segments in it. */
    private readonly inheritedGeneration: boolean,
  ) {
    super(init, {
      partSize: host.chunkSize,
      concurrency: host.segmentConcurrency,
      stored: stored.map((segment) => [segment.index, segment] as const),
    });
  }

  private get opts(): OpOptions {
    return { signal: this.signal };
  }

  /** Before each segment: the upload must still be this writer's, and within two levels of manifests. */
  protected async _beginPart(index: number): Promise<void> {
    // Two levels of manifests: the limit squared (a million segments at Swift's default of 1000).
    const perManifest = await this.host.maxSegments(this.opts);
    if (index > perManifest * perManifest) {
      throw new InvalidArgumentError(
        this.driverName,
        'content',
        `exceeds ${perManifest * perManifest} segments of ${this.host.chunkSize} bytes; use a larger chunksize`,
        {
          operation: 'write',
          path: this.path,
        },
      );
    }
    await this.host.checkHeld(this.upload, 'write', this.opts);
  }

  protected async _sendPart(index: number, body: Buffer): Promise<StoredSegment> {
    return this.host.putSegment(this.upload, index, body, this.opts);
  }

  /** The rest goes out as a short segment (unless a segment failed: resume before it). */
  protected async _closeParts(): Promise<void> {
    if (!this.partFailed) await this.flushParts();
    // The marker, written at open, already makes the upload (even an empty one) resumable.
    await this.host.checkHeld(this.upload, 'close', this.cleanupOpts);
  }

  /** Nothing was ever sent: one PUT of the buffered bytes. */
  protected async _commitSmall(buffered: Buffer): Promise<void> {
    await this.host.commit(this.upload, buffered, this.inheritedGeneration, this.opts);
  }

  protected async _commitParts(segments: StoredSegment[]): Promise<void> {
    await this.host.commit(this.upload, segments, this.inheritedGeneration, this.opts);
  }

  protected async _discard(): Promise<void> {
    // A segment PUT the signal cut off after its last byte may still be stored by Swift a moment
    // later, after the listing that cancel deletes from: give such stragglers time to land.
    if (this.signal?.aborted && this.partFailed) await sleep(ABORTED_PUT_GRACE_MS);
    await this.host.cancel(this.upload, this.cleanupOpts);
  }

  /** Best effort: the error to report is the fencing; what stays behind is unreferenced garbage. */
  protected override async _dropOwnParts(stored: StoredSegment[]): Promise<void> {
    const own = stored.filter((s) => s.session === this.upload.session);
    await this.host.dropFencedSegments(this.upload, own, this.cleanupOpts);
  }
}
