/**
 * Segment generations: the segments behind one version of one path, under
 * `<prefix>/segments/~files<path>/~<gen>/`, owned by exactly one SLO manifest once committed.
 * Every way of making a large object at a path (commit, append, move) builds a fresh generation,
 * and copying is the only way segments move, so no two manifests ever share a segment and
 * deleting one object can never take another's data (distribution issue #2878).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Semaphore, type OpOptions } from '@stowage/core';
import { SwiftContainer, type ObjectHead, type SloSegment } from './container';
import type { SwiftLayout } from './layout';

/** Swift's own limit on SLO nesting depth. */
const MAX_NESTING = 10;
/** Swift's default when /info does not say. */
const DEFAULT_MAX_MANIFEST_SEGMENTS = 1000;
/** Choices of segments tried against an SLO's ETag when a generation holds strays (see generationSources). */
const MAX_SEGMENT_CHOICES = 256;

export interface StoredSegment {
  index: number;
  /** The writer session whose name it has ('' for a bare index). */
  session: string;
  name: string;
  size: number;
  etag: string;
}

/** A new generation (or writer session) id: unique, never reused, `[0-9a-z]` only. */
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
      if (parsed?.index !== undefined)
        segments.push({ index: parsed.index, session: parsed.session!, name: object.name, size: object.bytes, etag: object.hash });
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
    if (head.slo) return (await this.sloSources(this.container, objectName, opts, 0)) ?? this.generationSources(objectName, head, opts);
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
   * The leaf segments of an SLO, nested manifests expanded (copying a nested one whole could pass
   * the 5 GiB object limit); undefined when the server does not give the manifest back.
   */
  private async sloSources(
    container: SwiftContainer,
    objectName: string,
    opts: OpOptions,
    depth: number,
  ): Promise<Array<{ source: string; size: number }> | undefined> {
    if (depth > MAX_NESTING) throw new Error(`SLO ${container.name}/${objectName} nests deeper than ${MAX_NESTING} levels`);
    const listing = await container.readManifestListing(objectName, opts);
    if (listing === undefined) {
      if (depth === 0) return undefined;
      throw new Error(`the server does not return the manifest of the nested SLO ${container.name}/${objectName}`);
    }
    const sources: Array<{ source: string; size: number }> = [];
    for (const entry of listing) {
      // A ranged entry uses part of an object; a server-side copy can only take it whole.
      if (entry.range !== undefined)
        throw new Error(`SLO ${container.name}/${objectName} has a ranged segment (${entry.name} bytes ${entry.range}); ranged segments cannot be copied`);
      if (!entry.sub_slo) {
        sources.push({ source: entry.name, size: entry.bytes });
        continue;
      }
      const { container: name, prefix: object } = splitManifest(entry.name.replace(/^\//, ''));
      sources.push(...(await this.sloSources(this.containerNamed(name), object, opts, depth + 1))!);
    }
    return sources;
  }

  /**
   * The segments of an SLO this driver wrote, for servers that do not give manifests back (Ceph
   * RGW answers `GET ?multipart-manifest=get` with the manifest object's empty data): every
   * manifest the driver writes lists segments 1..n, in order, of the generation its
   * X-Object-Meta-Stowage-Gen names. Where that generation also holds a fenced writer's segments
   * (a second one at some index, or ones past the manifest's last, not yet cleaned up), the choice
   * whose sizes add up to the object's and whose ETags give the SLO's ETag (the MD5 of its
   * segments' ETags) is the manifest's; none or more than one is an error.
   */
  private async generationSources(objectName: string, head: ObjectHead, opts: OpOptions): Promise<Array<{ source: string; size: number }>> {
    const target = `${this.container.name}/${objectName}`;
    const path = this.layout.pathOf(objectName);
    if (path === undefined || !head.generation) {
      throw new Error(
        `the server does not return SLO manifests (GET ?multipart-manifest=get is empty) and ${target} is not one this driver wrote: its segments are unknown`,
      );
    }
    const byIndex = new Map<number, StoredSegment[]>();
    for (const segment of await this.listGeneration(path, head.generation, opts)) {
      byIndex.set(segment.index, [...(byIndex.get(segment.index) ?? []), segment]);
    }
    // The manifest lists 1..k for some k: a fenced writer may also have left segments past k.
    const candidates: StoredSegment[][] = [];
    for (let index = 1; byIndex.has(index); index++) candidates.push(byIndex.get(index)!);
    const matches: StoredSegment[][] = [];
    for (let k = candidates.length; k >= 1 && matches.length < 2; k--) {
      const prefix = candidates.slice(0, k);
      const choices = prefix.reduce((n, atIndex) => n * atIndex.length, 1);
      if (choices > MAX_SEGMENT_CHOICES)
        throw new Error(`generation ${head.generation} of ${target} holds too many stray segments to tell which ones its manifest lists`);
      for (let choice = 0; choice < choices && matches.length < 2; choice++) {
        const picked: StoredSegment[] = [];
        let rest = choice;
        for (const atIndex of prefix) {
          picked.push(atIndex[rest % atIndex.length]!);
          rest = Math.floor(rest / atIndex.length);
        }
        if (picked.reduce((sum, s) => sum + s.size, 0) !== head.size) continue;
        if (head.etag !== undefined && sloEtag(picked) !== head.etag.toLowerCase()) continue;
        matches.push(picked);
      }
    }
    if (matches.length !== 1) {
      throw new Error(
        `the segments of generation ${head.generation} do not ${matches.length === 0 ? 'make up' : 'tell apart'} ${target} (${head.size} bytes, ETag ${head.etag ?? 'none'})`,
      );
    }
    return matches[0]!.map((s) => ({ source: `/${this.container.name}/${s.name}`, size: s.size }));
  }

  private containerNamed(name: string): SwiftContainer {
    return name === this.container.name ? this.container : new SwiftContainer(this.container.client, name);
  }

  /** SLO entries per manifest, from /info. */
  async maxSegments(opts: OpOptions): Promise<number> {
    const info = await this.container.client.info(opts.signal);
    return info.slo?.max_manifest_segments ?? DEFAULT_MAX_MANIFEST_SEGMENTS;
  }

  /**
   * PUTs the SLO manifest of `objectName` over `segments` (a generation of `path`), tagged with the
   * generation. Past the cluster's segment limit the entries go into nested manifests inside the
   * generation, level by level, and the top manifest lists those: one PUT still makes it visible.
   * When a newer write to the same path wins (Swift's 202), the generation is deleted: nothing owns it.
   */
  async writeManifest(objectName: string, path: string, generation: string, segments: StoredSegment[], opts: OpOptions): Promise<void> {
    const max = await this.maxSegments(opts);
    let entries = this.manifestOf(segments);
    for (let level = 1; entries.length > max; level++) {
      const groups: SloSegment[][] = [];
      for (let i = 0; i < entries.length; i += max) groups.push(entries.slice(i, i + max));
      const slots = new Semaphore(this.copyConcurrency);
      entries = await Promise.all(
        groups.map((group, k) =>
          slots.run(async () => {
            const name = this.layout.subManifestName(path, generation, level, k + 1);
            await this.container.putManifest(name, group, undefined, opts);
            return { path: `/${this.container.name}/${name}`, etag: null, size_bytes: null };
          }),
        ),
      );
    }
    if (!(await this.container.putManifest(objectName, entries, generation, opts))) await this.deleteGeneration(path, generation, opts);
  }

  /**
   * Server-side copies of `sources` into segments 1..n of a generation of `path` (named for writer
   * `session`, if any), a few at a time. Every copy has settled when this returns or throws, so a
   * caller's clean-up finds them all.
   */
  async copyInto(
    path: string,
    generation: string,
    session: string | undefined,
    sources: Array<{ source: string; size: number }>,
    opts: OpOptions,
  ): Promise<StoredSegment[]> {
    const slots = new Semaphore(this.copyConcurrency);
    const copies = await Promise.allSettled(
      sources.map((piece, i) =>
        slots.run(async () => {
          const name = this.layout.segmentName(path, generation, i + 1, session);
          const etag = await this.container.copy(name, piece.source, opts);
          return { index: i + 1, session: session ?? '', name, size: piece.size, etag };
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

/** An SLO's ETag: the MD5 of its segments' ETags (hex), in order. */
function sloEtag(segments: StoredSegment[]): string {
  return createHash('md5')
    .update(segments.map((s) => s.etag.toLowerCase()).join(''))
    .digest('hex');
}

/** `container/prefix/of/segments` → its parts. */
function splitManifest(manifest: string): { container: string; prefix: string } {
  const slash = manifest.indexOf('/');
  return slash < 0 ? { container: manifest, prefix: '' } : { container: manifest.slice(0, slash), prefix: manifest.slice(slash + 1) };
}
