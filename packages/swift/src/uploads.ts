/**
 * Unfinished uploads. An upload to `path` is a segment generation plus a marker object naming it
 * (`<prefix>/segments/~uploads<path>`, see layout.ts): the marker says "this generation is not
 * committed yet, and this writer session holds it", the segments themselves are the upload's
 * state. A new process resumes by reading the marker and listing the generation; nothing depends
 * on the writer that wrote it.
 *
 * One live writer per upload: every writer open PUTs the marker with a session of its own, which
 * fences the writer that held it. A writer reads the marker back before each segment, before
 * close and before commit, and stops with UploadFencedError once the session there is not its
 * own. Segments are named per session, so a fenced writer's late segment can never replace one
 * the live writer relies on; the marker lists which sessions' segments make up the upload.
 *
 * One upload per path: writer(path, false) discards an unfinished one. A marker whose generation
 * is the one the committed manifest names is stale (a crash between commit and marker delete)
 * and is ignored (and purged).
 */
import { PathNotFoundError, StorageDriverError, UploadFencedError, type FileWriterInit, type OpOptions } from '@stowage/core';
import type { SwiftContainer } from './container';
import { type LargeObjects, newGeneration, type StoredSegment } from './large-objects';
import type { SwiftLayout } from './layout';
import { SegmentWriter, type HeldUpload, type SegmentWriterHost } from './writer';

/** The marker of an unfinished upload, as stored (JSON). */
export interface UploadMarker {
  version: 2;
  path: string;
  generation: string;
  /** The writer session holding the upload; every open writes a new one, fencing the one before. */
  session: string;
  /**
   * Earlier sessions' segments, in order: the upload's first segments are `segments` of the first
   * entry's session, then those of the next entry, and so on; the holding session's own follow.
   */
  resumed: Array<{ session: string; segments: number }>;
  startedAt: string;
}

export interface SegmentedUploadsOptions {
  chunkSize: number;
  segmentConcurrency: number;
}

/** The unfinished uploads of a container; it is also the host of the writers it opens. */
export class SegmentedUploads implements SegmentWriterHost {
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
   * A writer for `path`, holding the upload under a new session (which fences any earlier
   * writer): append=false discards any unfinished upload there; append=true resumes it, or else
   * starts one from copies of the committed content (PathNotFoundError if neither exists).
   */
  async open(path: string, append: boolean, opts: OpOptions, init: (size: number) => FileWriterInit): Promise<SegmentWriter> {
    const previous = await this.liveMarker(path, opts);
    if (previous && append) {
      const segments = await this.resumableSegments(previous, opts);
      const marker: UploadMarker = { ...newMarker(path), generation: previous.generation, resumed: sessionRuns(segments) };
      await this.writeMarker(marker, opts);
      return new SegmentWriter(this, init(sizeOf(segments)), marker, segments, true);
    }
    if (!append) {
      const marker = newMarker(path);
      await this.writeMarker(marker, opts);
      // Only after fencing the earlier writer: it sends nothing after its next check, and deletes
      // itself any segment of its own still in flight now.
      if (previous) await this.dropUncommitted(path, previous.generation, opts);
      return new SegmentWriter(this, init(0), marker, [], false);
    }
    return this.openOnCommitted(path, opts, init);
  }

  /** An append to committed content: its pieces are copied server-side into a new generation. */
  private async openOnCommitted(path: string, opts: OpOptions, init: (size: number) => FileWriterInit): Promise<SegmentWriter> {
    const name = this.layout.objectName(path);
    const head = await this.container.head(name, opts);
    if (!head) throw new PathNotFoundError(this.driverName, path, { operation: 'writer' });
    const marker = newMarker(path);
    await this.writeMarker(marker, opts);
    try {
      const sources = await this.largeObjects.sourcesOf(name, head, opts);
      const segments = await this.largeObjects.copyInto(path, marker.generation, marker.session, sources, opts);
      if (sizeOf(segments) !== head.size) {
        throw new StorageDriverError(
          this.driverName,
          new Error(`copied ${sizeOf(segments)} of ${head.size} bytes: the content changed while the append was opened`),
          { operation: 'writer', path },
        );
      }
      return new SegmentWriter(this, init(head.size), marker, segments, false);
    } catch (err) {
      await this.largeObjects.deleteGeneration(path, marker.generation, {}).catch(() => undefined);
      await this.releaseMarker(marker, {}).catch(() => undefined);
      throw err;
    }
  }

  /** The marker of `path`'s unfinished upload; undefined when there is none or it is stale. */
  private async liveMarker(path: string, opts: OpOptions): Promise<UploadMarker | undefined> {
    const marker = await this.readMarker(path, opts);
    if (!marker) return undefined;
    return (await this.isCommitted(path, marker.generation, opts)) ? undefined : marker;
  }

  private async isCommitted(path: string, generation: string, opts: OpOptions): Promise<boolean> {
    return (await this.container.head(this.layout.objectName(path), opts))?.generation === generation;
  }

  async readMarker(path: string, opts: OpOptions): Promise<UploadMarker | undefined> {
    const raw = await this.container.getBuffer(this.layout.uploadMarker(path), opts);
    if (raw === undefined) return undefined;
    const marker = parseMarker(raw, path);
    if (!marker) throw new UnreadableMarkerError(this.driverName, this.layout.uploadMarker(path), path);
    return marker;
  }

  private async writeMarker(marker: UploadMarker, opts: OpOptions): Promise<void> {
    await this.container.put(this.layout.uploadMarker(marker.path), Buffer.from(JSON.stringify(marker)), opts, { 'content-type': 'application/json' });
  }

  /** The most segments one manifest may name (Swift's max_manifest_segments). */
  maxSegments(opts: OpOptions): Promise<number> {
    return this.largeObjects.maxSegments(opts);
  }

  /** Stores segment `index` of `upload`, named by its generation and session. */
  async putSegment(upload: HeldUpload, index: number, body: Buffer, opts: OpOptions): Promise<StoredSegment> {
    const { path, session, generation } = upload;
    const name = this.layout.segmentName(path, generation, index, session);
    const etag = await this.container.put(name, body, opts);
    return { index, session, name, size: body.length, etag };
  }

  /** Throws UploadFencedError unless `marker`'s session still holds the upload. */
  async checkHeld(marker: HeldUpload, operation: string, opts: OpOptions): Promise<void> {
    if (!(await this.holds(marker, opts))) throw new UploadFencedError(this.driverName, marker.path, operation);
  }

  private async holds(marker: HeldUpload, opts: OpOptions): Promise<boolean> {
    const current = await this.readMarker(marker.path, opts).catch((err: unknown) => {
      if (err instanceof UnreadableMarkerError) return undefined;
      throw err;
    });
    return current?.generation === marker.generation && current.session === marker.session;
  }

  /** Deletes the marker if `marker`'s session still holds it (a newer writer's marker stays). */
  private async releaseMarker(marker: HeldUpload, opts: OpOptions): Promise<void> {
    if (await this.holds(marker, opts)) await this.container.delete(this.layout.uploadMarker(marker.path), opts);
  }

  /**
   * The upload's segments in order: the runs of the marker's earlier sessions, then the holding
   * session's own, up to the first one missing (a crash mid-write). Other sessions' segments in
   * the generation (a fenced writer's late ones) are not the upload's and are left to commit.
   */
  private async resumableSegments(marker: UploadMarker, opts: OpOptions): Promise<StoredSegment[]> {
    const stored = new Map<string, StoredSegment>();
    for (const segment of await this.largeObjects.listGeneration(marker.path, marker.generation, opts))
      stored.set(`${segment.index}.${segment.session}`, segment);
    const upload: StoredSegment[] = [];
    const take = (session: string): boolean => {
      const segment = stored.get(`${upload.length + 1}.${session}`);
      if (segment) upload.push(segment);
      return segment !== undefined;
    };
    for (const run of marker.resumed) {
      for (let n = 0; n < run.segments; n++) if (!take(run.session)) return upload;
    }
    while (take(marker.session));
    return upload;
  }

  /** Deletes the segments of an upload that was not committed (by the time of this check). */
  private async dropUncommitted(path: string, generation: string, opts: OpOptions): Promise<void> {
    if (!(await this.isCommitted(path, generation, opts))) await this.largeObjects.deleteGeneration(path, generation, opts);
  }

  /** A whole small content in one PUT; the version it replaces loses its segments afterwards. */
  async commitPlain(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    const name = this.layout.objectName(path);
    const replaced = await this.container.head(name, opts);
    await this.container.put(name, content, opts);
    await this.largeObjects.releaseReplaced(path, replaced, undefined, opts);
  }

  /**
   * Commit of an upload its writer holds: one PUT of its SLO manifest (of `content` as a plain
   * object when no segment went out), then clean-up: the marker, segments of fenced writers that
   * the manifest does not name (only a generation `inherited` from earlier sessions can hold
   * any), the replaced version's segments.
   */
  async commit(marker: HeldUpload, content: StoredSegment[] | Buffer, inherited: boolean, opts: OpOptions): Promise<void> {
    const { path, generation } = marker;
    await this.checkHeld(marker, 'commit', opts);
    const name = this.layout.objectName(path);
    const replaced = await this.container.head(name, opts);
    const plain = Buffer.isBuffer(content);
    if (plain) await this.container.put(name, content, opts);
    else if (content.length === 0) await this.container.put(name, Buffer.alloc(0), opts);
    else await this.largeObjects.writeManifest(name, path, generation, content, opts);
    // Committed: from here on a failure leaves only garbage, never a torn file.
    await this.releaseMarker(marker, opts);
    if (inherited) {
      const kept = new Set(plain ? [] : content.map((s) => s.name));
      const strays = (await this.largeObjects.listGeneration(path, generation, opts)).filter((s) => !kept.has(s.name));
      if (strays.length)
        await this.container.deleteMany(
          strays.map((s) => s.name),
          opts,
        );
    }
    await this.largeObjects.releaseReplaced(path, replaced, plain ? undefined : generation, opts);
  }

  /** cancel() of the writer holding the upload: its segments (earlier sessions' included), then the marker. */
  async cancel(marker: HeldUpload, opts: OpOptions): Promise<void> {
    await this.checkHeld(marker, 'cancel', opts);
    await this.largeObjects.deleteGeneration(marker.path, marker.generation, opts);
    await this.releaseMarker(marker, opts);
  }

  /**
   * After `marker`'s writer was fenced: deletes those of `own` (segments its session stored) that
   * the upload does not use, i.e. that neither the marker holding the generation now nor the
   * manifest committed from it names. Everything else belongs to the newer writer.
   */
  async dropFencedSegments(marker: HeldUpload, own: StoredSegment[], opts: OpOptions): Promise<void> {
    if (own.length === 0) return;
    const used = new Set<string>();
    const current = await this.readMarker(marker.path, opts).catch(() => undefined);
    if (current?.generation === marker.generation) {
      for (const segment of await this.resumableSegments(current, opts)) used.add(segment.name);
    } else {
      const committed = await this.committedGeneration(marker.path, opts);
      if (committed.generation === marker.generation) committed.used.forEach((name) => used.add(name));
    }
    const unused = own.filter((s) => !used.has(s.name)).map((s) => s.name);
    if (unused.length) await this.container.deleteMany(unused, opts);
  }

  /** The generation of `path`'s committed manifest, with the segment names it uses. */
  private async committedGeneration(path: string, opts: OpOptions): Promise<{ generation?: string; used: Set<string> }> {
    const name = this.layout.objectName(path);
    const head = await this.container.head(name, opts);
    const used = new Set<string>();
    if (!head?.generation) return { used };
    const prefix = `/${this.container.name}/`;
    for (const { source } of await this.largeObjects.sourcesOf(name, head, opts)) used.add(source.startsWith(prefix) ? source.slice(prefix.length) : source);
    return { generation: head.generation, used };
  }

  /** Removes an upload: its segments first, then the marker (so a failure half-way stays findable). */
  private async discard(marker: UploadMarker, opts: OpOptions): Promise<void> {
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
        marker = await this.readMarker(path, opts);
      } catch (err) {
        // A marker nobody can read cannot be resumed either: past the cutoff it goes.
        if (!(err instanceof UnreadableMarkerError)) throw err;
        await this.container.delete(listed.name, opts);
        continue;
      }
      if (!marker) continue;
      if (await this.isCommitted(path, marker.generation, opts)) {
        await this.container.delete(listed.name, opts);
        continue;
      }
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
   * markers and segments, any segment generation no committed manifest owns, and segments in a
   * committed generation that its manifest does not name (a fenced writer's).
   */
  async leftovers(path: string, opts: OpOptions = {}): Promise<string[]> {
    const found: string[] = [];
    const marker = this.layout.uploadMarker(path);
    for await (const object of this.container.listAll(marker, opts)) {
      if (object.name === marker || object.name.startsWith(`${marker}/`)) found.push(object.name);
    }
    const owners = new Map<string, { generation?: string; used: Set<string> }>();
    for (const prefix of [this.layout.generationsPrefix(path), this.layout.segmentsBelow(path)]) {
      for await (const object of this.container.listAll(prefix, opts)) {
        const segment = this.layout.parseSegment(object.name);
        if (!segment) {
          found.push(object.name);
          continue;
        }
        if (!owners.has(segment.path)) owners.set(segment.path, await this.committedGeneration(segment.path, opts));
        const owner = owners.get(segment.path)!;
        if (owner.generation !== segment.generation || (segment.index !== undefined && !owner.used.has(object.name))) found.push(object.name);
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

function newMarker(path: string): UploadMarker {
  return { version: 2, path, generation: newGeneration(), session: newGeneration(), resumed: [], startedAt: new Date().toISOString() };
}

/**
 * The marker in `raw`, or undefined if it is not one of `path`. A version 1 marker (before
 * sessions) reads as held by session '', whose segments have bare-index names.
 */
function parseMarker(raw: Buffer, path: string): UploadMarker | undefined {
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as Omit<Partial<UploadMarker>, 'version'> & { version?: number };
    if (parsed.path !== path || typeof parsed.generation !== 'string' || !parsed.generation) return undefined;
    if (parsed.version === 1) return { version: 2, path, generation: parsed.generation, session: '', resumed: [], startedAt: String(parsed.startedAt) };
    const runsOk =
      Array.isArray(parsed.resumed) && parsed.resumed.every((r) => typeof r?.session === 'string' && Number.isInteger(r.segments) && r.segments > 0);
    if (parsed.version === 2 && typeof parsed.session === 'string' && parsed.session && runsOk) return parsed as UploadMarker;
  } catch {
    // fall through: not JSON
  }
  return undefined;
}

/** `segments`' sessions as runs, in order: the `resumed` of a session that continues them. */
function sessionRuns(segments: StoredSegment[]): UploadMarker['resumed'] {
  const runs: UploadMarker['resumed'] = [];
  for (const { session } of segments) {
    const last = runs.at(-1);
    if (last?.session === session) last.segments++;
    else runs.push({ session, segments: 1 });
  }
  return runs;
}

const sizeOf = (segments: StoredSegment[]): number => segments.reduce((sum, s) => sum + s.size, 0);
