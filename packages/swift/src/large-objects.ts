/**
 * Segment generations: the segments behind one version of one path, under
 * `<prefix>/segments/~files<path>/~<gen>/`, owned by exactly one SLO manifest once committed.
 * Every way of making a large object at a path (commit, append, move) builds a fresh generation,
 * and copying is the only way segments move, so no two manifests ever share a segment and
 * deleting one object can never take another's data (distribution issue #2878).
 */
import { randomBytes } from 'node:crypto';
import { Semaphore, type OpOptions } from '@stowage/core';
import { SwiftContainer, type ObjectHead, type SloSegment } from './container';
import type { SwiftLayout } from './layout';

export interface StoredSegment {
  index: number;
  name: string;
  size: number;
  etag: string;
}

/** A new generation id: unique per writer, never reused. */
export const newGeneration = (): string => `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;

export class LargeObjects {
  constructor(
    readonly container: SwiftContainer,
    readonly layout: SwiftLayout,
    readonly copyConcurrency: number,
  ) {}

  /** The manifest entries for `segments` (in order). */
  manifestOf(segments: StoredSegment[]): SloSegment[] {
    return segments.map((s) => ({ path: `/${this.container.name}/${s.name}`, etag: s.etag || null, size_bytes: s.size }));
  }

  /** The stored segments of one generation, in order. */
  async listGeneration(path: string, generation: string, opts: OpOptions): Promise<StoredSegment[]> {
    const segments: StoredSegment[] = [];
    for await (const object of this.container.listAll(this.layout.generationDir(path, generation), opts)) {
      const parsed = this.layout.parseSegment(object.name);
      if (parsed) segments.push({ index: parsed.index, name: object.name, size: object.bytes, etag: object.hash });
    }
    return segments.sort((a, b) => a.index - b.index);
  }

  async deleteGeneration(path: string, generation: string, opts: OpOptions): Promise<void> {
    const names: string[] = [];
    for await (const object of this.container.listAll(this.layout.generationDir(path, generation), opts)) names.push(object.name);
    await this.container.deleteMany(names, opts);
  }

  /**
   * The pieces a large object is made of, as `/container/object` sources with sizes: an SLO's
   * manifest entries, a DLO's listed segments, or the object itself when it is plain.
   */
  async sourcesOf(objectName: string, head: ObjectHead, opts: OpOptions): Promise<Array<{ source: string; size: number }>> {
    if (head.slo) {
      const entries = await this.container.readManifest(objectName, opts);
      return entries.map((entry) => ({ source: entry.path, size: entry.size_bytes ?? 0 }));
    }
    if (head.dloManifest !== undefined) {
      const { container, prefix } = splitManifest(head.dloManifest);
      const segmentContainer = container === this.container.name ? this.container : new SwiftContainer(this.container.client, container);
      const sources: Array<{ source: string; size: number }> = [];
      for await (const object of segmentContainer.listAll(prefix, opts)) {
        if (object.bytes > 0) sources.push({ source: `/${container}/${object.name}`, size: object.bytes });
      }
      return sources;
    }
    return head.size > 0 ? [{ source: `/${this.container.name}/${objectName}`, size: head.size }] : [];
  }

  /**
   * Server-side copies of `sources` into segments 1..n of a generation of `path`, a few at a time.
   * Every copy has settled when this returns or throws, so a caller's clean-up finds them all.
   */
  async copyInto(path: string, generation: string, sources: Array<{ source: string; size: number }>, opts: OpOptions): Promise<StoredSegment[]> {
    const slots = new Semaphore(this.copyConcurrency);
    const copies = await Promise.allSettled(
      sources.map((piece, i) =>
        slots.run(async () => {
          const name = this.layout.segmentName(path, generation, i + 1);
          const etag = await this.container.copy(name, piece.source, opts);
          return { index: i + 1, name, size: piece.size, etag };
        }),
      ),
    );
    const failed = copies.find((copy) => copy.status === 'rejected');
    if (failed) throw failed.reason;
    return copies.map((copy) => (copy as PromiseFulfilledResult<StoredSegment>).value);
  }

  /**
   * Deletes the object `objectName` (as `head` describes it) with whatever segments it owns: an SLO
   * through Swift's manifest delete, a DLO's segments when they lie in our segments folder.
   */
  async deleteObject(objectName: string, head: ObjectHead, opts: OpOptions): Promise<boolean> {
    if (head.slo) return this.container.deleteManifest(objectName, opts);
    const found = await this.container.delete(objectName, opts);
    if (head.dloManifest !== undefined) await this.deleteDloSegments(head.dloManifest, opts);
    return found;
  }

  /**
   * After `path` was overwritten: drop the segments the replaced version owned. Only our own
   * generations and distribution's DLO segments (both in our segments folder) are touched.
   */
  async releaseReplaced(path: string, replaced: ObjectHead | undefined, current: string | undefined, opts: OpOptions): Promise<void> {
    if (!replaced) return;
    if (replaced.generation && replaced.generation !== current) await this.deleteGeneration(path, replaced.generation, opts);
    else if (replaced.dloManifest !== undefined) await this.deleteDloSegments(replaced.dloManifest, opts);
  }

  private async deleteDloSegments(manifest: string, opts: OpOptions): Promise<void> {
    const { container, prefix } = splitManifest(manifest);
    // Only segments in our own folder: a manifest pointing elsewhere does not own what it points at.
    if (container !== this.container.name || !prefix.startsWith(this.layout.segmentsPrefix) || prefix.length <= this.layout.segmentsPrefix.length) return;
    const names: string[] = [];
    for await (const object of this.container.listAll(prefix, opts)) names.push(object.name);
    await this.container.deleteMany(names, opts);
  }
}

/** `container/prefix/of/segments` → its parts. */
export function splitManifest(manifest: string): { container: string; prefix: string } {
  const slash = manifest.indexOf('/');
  return slash < 0 ? { container: manifest, prefix: '' } : { container: manifest.slice(0, slash), prefix: manifest.slice(slash + 1) };
}
