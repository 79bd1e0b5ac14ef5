/**
 * Unfinished uploads. An upload to `path` is a segment generation plus a marker object naming it
 * (`<prefix>/segments/~uploads<path>`, see layout.ts): the marker says "this generation is not
 * committed yet", the segments themselves are the upload's state. A new process resumes by
 * reading the marker and listing the generation; nothing depends on the writer that wrote it.
 *
 * One upload per path: writer(path, false) discards an unfinished one. A marker whose generation
 * is the one the committed manifest names is stale (a crash between commit and marker delete)
 * and is dropped wherever it is met.
 */
import { PathNotFoundError, StorageDriverError, type FileWriterInit, type OpOptions } from '@stowage/core';
import type { SwiftContainer } from './container';
import { LargeObjects, newGeneration, type StoredSegment } from './large-objects';
import type { SwiftLayout } from './layout';
import { SegmentWriter } from './writer';

export interface UploadMarker {
  version: 1;
  path: string;
  generation: string;
  startedAt: string;
}

export interface SegmentedUploadsOptions {
  chunkSize: number;
  segmentConcurrency: number;
}

export class SegmentedUploads {
  readonly chunkSize: number;
  readonly segmentConcurrency: number;

  constructor(
    readonly driverName: string,
    readonly container: SwiftContainer,
    readonly layout: SwiftLayout,
    readonly largeObjects: LargeObjects,
    options: SegmentedUploadsOptions,
  ) {
    this.chunkSize = options.chunkSize;
    this.segmentConcurrency = options.segmentConcurrency;
  }

  /**
   * A writer for `path`: append=false discards any unfinished upload there; append=true resumes
   * it, or else starts one from copies of the committed content (PathNotFoundError if neither exists).
   */
  async open(path: string, append: boolean, opts: OpOptions, init: (size: number) => FileWriterInit): Promise<SegmentWriter> {
    const marker = await this.liveMarker(path, opts);
    if (marker && append) {
      const segments = await this.resumableSegments(marker, opts);
      return new SegmentWriter(this, init(sizeOf(segments)), marker, segments);
    }
    if (marker) await this.discard(marker, opts);
    if (!append) return new SegmentWriter(this, init(0), undefined, []);
    return this.openOnCommitted(path, opts, init);
  }

  /** An append to committed content: its pieces are copied server-side into a new generation. */
  private async openOnCommitted(path: string, opts: OpOptions, init: (size: number) => FileWriterInit): Promise<SegmentWriter> {
    const name = this.layout.objectName(path);
    const head = await this.container.head(name, opts);
    if (!head) throw new PathNotFoundError(this.driverName, path, { operation: 'writer' });
    const marker = await this.createMarker(path, opts);
    try {
      const sources = await this.largeObjects.sourcesOf(name, head, opts);
      const segments = await this.largeObjects.copyInto(path, marker.generation, sources, opts);
      if (sizeOf(segments) !== head.size) {
        throw new StorageDriverError(this.driverName, new Error(`copied ${sizeOf(segments)} of ${head.size} bytes: the content changed while the append was opened`), { operation: 'writer', path });
      }
      return new SegmentWriter(this, init(head.size), marker, segments);
    } catch (err) {
      await this.discard(marker, {}).catch(() => undefined);
      throw err;
    }
  }

  /** The marker of `path`'s unfinished upload, dropping it if it is stale. */
  private async liveMarker(path: string, opts: OpOptions): Promise<UploadMarker | undefined> {
    const marker = await this.readMarker(path, opts);
    if (!marker) return undefined;
    const committed = await this.container.head(this.layout.objectName(path), opts);
    if (committed?.generation === marker.generation) {
      await this.container.delete(this.layout.uploadMarker(path), opts);
      return undefined;
    }
    return marker;
  }

  async readMarker(path: string, opts: OpOptions): Promise<UploadMarker | undefined> {
    const raw = await this.container.getBuffer(this.layout.uploadMarker(path), opts);
    if (raw === undefined) return undefined;
    try {
      const marker = JSON.parse(raw.toString('utf8')) as UploadMarker;
      if (marker.version === 1 && marker.path === path && typeof marker.generation === 'string' && marker.generation) return marker;
    } catch {
      // fall through: an unreadable marker is reported below
    }
    throw new UnreadableMarkerError(this.driverName, this.layout.uploadMarker(path), path);
  }

  async createMarker(path: string, opts: OpOptions): Promise<UploadMarker> {
    const marker: UploadMarker = { version: 1, path, generation: newGeneration(), startedAt: new Date().toISOString() };
    await this.writeMarker(marker, opts);
    return marker;
  }

  async writeMarker(marker: UploadMarker, opts: OpOptions): Promise<void> {
    await this.container.put(this.layout.uploadMarker(marker.path), Buffer.from(JSON.stringify(marker)), opts, { 'content-type': 'application/json' });
  }

  /** The generation's segments 1..n without gaps; any after a gap (a crash mid-write) are deleted. */
  private async resumableSegments(marker: UploadMarker, opts: OpOptions): Promise<StoredSegment[]> {
    const stored = await this.largeObjects.listGeneration(marker.path, marker.generation, opts);
    let run = 0;
    while (run < stored.length && stored[run]!.index === run + 1) run++;
    const strays = stored.slice(run).map((s) => s.name);
    if (strays.length) await this.container.deleteMany(strays, opts);
    return stored.slice(0, run);
  }

  /** A whole small content in one PUT; the version it replaces loses its segments afterwards. */
  async commitPlain(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    const name = this.layout.objectName(path);
    const replaced = await this.container.head(name, opts);
    await this.container.put(name, content, opts);
    await this.largeObjects.releaseReplaced(path, replaced, undefined, opts);
  }

  /** Commit of an upload: one PUT of its SLO manifest (a plain PUT when it has no segment), then clean-up. */
  async commitSegments(path: string, marker: UploadMarker, segments: StoredSegment[], opts: OpOptions): Promise<void> {
    const name = this.layout.objectName(path);
    const replaced = await this.container.head(name, opts);
    if (segments.length === 0) await this.container.put(name, Buffer.alloc(0), opts);
    else await this.largeObjects.writeManifest(name, path, marker.generation, segments, opts);
    // Committed: from here on a failure leaves only garbage, never a torn file.
    await this.container.delete(this.layout.uploadMarker(path), opts);
    await this.largeObjects.releaseReplaced(path, replaced, marker.generation, opts);
  }

  /** Removes an upload: its segments first, then the marker (so a failure half-way stays findable). */
  async discard(marker: UploadMarker, opts: OpOptions): Promise<void> {
    await this.largeObjects.deleteGeneration(marker.path, marker.generation, opts);
    await this.container.delete(this.layout.uploadMarker(marker.path), opts);
  }

  /**
   * Removes every unfinished upload whose marker and segments were all last written before
   * `olderThan`; returns how many. Stale markers are dropped without counting.
   */
  async purge(olderThan: Date, opts: OpOptions): Promise<number> {
    let purged = 0;
    for await (const listed of this.container.listAll(this.layout.uploadMarkersPrefix, opts)) {
      if (listed.modTime >= olderThan) continue;
      const path = this.layout.markerPath(listed.name);
      if (path === undefined) continue;
      let marker: UploadMarker | undefined;
      try {
        marker = await this.liveMarker(path, opts);
      } catch (err) {
        // A marker nobody can read cannot be resumed either: past the cutoff it goes.
        if (!(err instanceof UnreadableMarkerError)) throw err;
        await this.container.delete(listed.name, opts);
        continue;
      }
      if (!marker) continue;
      // A session still writing keeps the upload alive even though the marker is old.
      const newest = await this.newestSegmentTime(path, marker.generation, opts);
      if (newest !== undefined && newest >= olderThan) continue;
      await this.discard(marker, opts);
      purged++;
    }
    return purged;
  }

  private async newestSegmentTime(path: string, generation: string, opts: OpOptions): Promise<Date | undefined> {
    let newest: Date | undefined;
    for await (const object of this.container.listAll(this.layout.generationDir(path, generation), opts)) {
      if (!newest || object.modTime > newest) newest = object.modTime;
    }
    return newest;
  }

  /**
   * What the driver keeps for `path` and below that the API does not show: unfinished uploads'
   * markers and segments, and any segment generation no committed manifest owns.
   */
  async leftovers(path: string, opts: OpOptions = {}): Promise<string[]> {
    const found: string[] = [];
    const marker = this.layout.uploadMarker(path);
    for await (const object of this.container.listAll(marker, opts)) {
      if (object.name === marker || object.name.startsWith(`${marker}/`)) found.push(object.name);
    }
    const owners = new Map<string, string | undefined>();
    for (const prefix of [this.layout.generationsPrefix(path), this.layout.segmentsBelow(path)]) {
      for await (const object of this.container.listAll(prefix, opts)) {
        const segment = this.layout.parseSegment(object.name);
        if (!segment) {
          found.push(object.name);
          continue;
        }
        if (!owners.has(segment.path)) owners.set(segment.path, (await this.container.head(this.layout.objectName(segment.path), opts))?.generation);
        if (owners.get(segment.path) !== segment.generation) found.push(object.name);
      }
    }
    return found.sort();
  }
}

/** An upload marker that is not the JSON this driver writes (a foreign or torn object). */
class UnreadableMarkerError extends StorageDriverError {
  constructor(driverName: string, markerName: string, path: string) {
    super(driverName, new Error(`upload marker ${markerName} is unreadable`), { operation: 'writer', path });
  }
}

const sizeOf = (segments: StoredSegment[]): number => segments.reduce((sum, s) => sum + s.size, 0);
