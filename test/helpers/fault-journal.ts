/**
 * The read-back check of the fault runs: a decorator around the driver under test records every
 * successful putContent, writer commit and move with the sha256 of the bytes the caller wrote, and
 * reads each one back through a second driver that talks to the server directly (not through the
 * fault proxy): right after it was committed, and once more at the end for everything still there.
 *
 * A read-back is `lost` when nothing is there, `torn` when the size matches no version committed at
 * that path, `corrupted` when the size matches but the content does not. Versions committed by
 * concurrent writers of the same path all count as valid (readers may see any of them), and a path
 * deleted or overwritten while it was being read back is not judged.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { DriverDecorator, isPathNotFound, writableOf, type AsWritableOptions, type FileWriter, type OpOptions, type StorageDriver } from '@stowage/core';

/** One committed version: what the caller wrote. */
interface Version {
  sha256: string;
  size: number;
}

/** The running hash of an upload that is still open or closed (resumable). */
interface HashState {
  hash: Hash;
  size: number;
}

export interface ReadBackCounts {
  /** Read-backs done. */
  checked: number;
  corrupted: number;
  torn: number;
  lost: number;
  /** Uploads resumed from state this journal did not see (not judged). */
  unverified: number;
  /** What went wrong, for the failure message. */
  problems: string[];
}

export class FaultJournal {
  /** Every version committed at a path (any may be current after concurrent commits). */
  private readonly versions = new Map<string, Version[]>();
  /** The last version committed at each path that still exists (by the journal's account). */
  private readonly present = new Map<string, Version & { hash: Hash }>();
  /** Closed, resumable uploads. */
  private readonly pending = new Map<string, HashState>();
  /** Bumped on every change of a path, so that a read-back can tell it raced with one. */
  private readonly generation = new Map<string, number>();
  /** Deletes in progress, and a counter of delete starts and ends (a read-back that spans one cannot judge a missing path). */
  private readonly deletes: string[] = [];
  private deleteEpoch = 0;
  readonly counts: ReadBackCounts = { checked: 0, corrupted: 0, torn: 0, lost: 0, unverified: 0, problems: [] };

  constructor(private readonly direct: StorageDriver) {}

  /** The driver under test, journalled. */
  wrap(driver: StorageDriver): StorageDriver {
    return new JournalledDriver(driver, this);
  }

  private bump(path: string): number {
    const next = (this.generation.get(path) ?? 0) + 1;
    this.generation.set(path, next);
    return next;
  }

  /** `hash` is the state after the last byte (kept, so that an append can continue it). */
  /** A version about to be committed (or maybe committed, when the call fails): valid from now on. */
  attempting(path: string, hash: Hash | undefined, size: number): void {
    if (hash) this.versions.set(path, [...(this.versions.get(path) ?? []), { sha256: hash.copy().digest('hex'), size }]);
  }

  async committed(path: string, hash: Hash, size: number): Promise<void> {
    const version = { sha256: hash.copy().digest('hex'), size };
    this.present.set(path, { ...version, hash });
    this.pending.delete(path);
    await this.readBack(path, this.bump(path));
  }

  /** A change whose outcome is unknown (the call failed): every version stays valid, nothing is required. */
  uncertain(path: string): void {
    this.present.delete(path);
    this.bump(path);
  }

  /** A move is about to run: the source's version becomes valid at the destination. */
  attemptingMove(source: string, dest: string): void {
    const version = this.present.get(source);
    if (version) this.versions.set(dest, [...(this.versions.get(dest) ?? []), { sha256: version.sha256, size: version.size }]);
  }

  async moved(source: string, dest: string): Promise<void> {
    const version = this.present.get(source);
    this.removeBelow(source);
    if (!version) {
      this.uncertain(dest);
      return;
    }
    this.present.set(dest, version);
    await this.readBack(dest, this.bump(dest));
  }

  /** A delete of `path` starts: until it ends, nothing missing at or below it is judged lost. */
  deleting(path: string): () => void {
    this.deletes.push(path);
    this.deleteEpoch++;
    return () => {
      this.deletes.splice(this.deletes.indexOf(path), 1);
      this.deleteEpoch++;
      this.removeBelow(path);
    };
  }

  private deletedMeanwhile(path: string, epoch: number): boolean {
    return epoch !== this.deleteEpoch || this.deletes.some((d) => path === d || path.startsWith(`${d}/`));
  }

  /** `path` and everything below it are gone. */
  removeBelow(path: string): void {
    for (const key of [...this.present.keys()]) {
      if (key === path || key.startsWith(`${path}/`)) {
        this.present.delete(key);
        this.bump(key);
      }
    }
  }

  /** The hash to continue for a writer opened with `append` that resumed `size` bytes. */
  resumed(path: string, append: boolean, size: number): Hash | undefined {
    if (!append || size === 0) return createHash('sha256');
    const pending = this.pending.get(path);
    if (pending && pending.size === size) return pending.hash.copy();
    const committed = this.present.get(path);
    if (committed && committed.size === size) return committed.hash.copy();
    this.counts.unverified++;
    return undefined;
  }

  closed(path: string, hash: Hash, size: number): void {
    this.pending.set(path, { hash: hash.copy(), size });
  }

  cancelled(path: string): void {
    this.pending.delete(path);
  }

  /** Reads `path` back through the direct driver and judges it against every version committed there. */
  private async readBack(path: string, generation: number): Promise<void> {
    const epoch = this.deleteEpoch;
    let content: Buffer | undefined;
    // The checker's own reads are retried: on a loaded machine the server may drop a slow reader
    // (Swift's client_timeout), which says nothing about the driver under test.
    for (let attempt = 1; ; attempt++) {
      try {
        content = await this.direct.getContent(path);
        break;
      } catch (err) {
        if (isPathNotFound(err)) break;
        if (attempt >= 3) throw err;
      }
    }
    // Deleted, moved or overwritten meanwhile (a concurrent test step): nothing to judge.
    if (this.generation.get(path) !== generation || (content === undefined && this.deletedMeanwhile(path, epoch))) return;
    this.counts.checked++;
    const versions = this.versions.get(path) ?? [];
    if (content === undefined) {
      this.counts.lost++;
      this.counts.problems.push(`lost: ${path} (committed ${versions.length} time(s), nothing there)`);
      return;
    }
    const sha256 = createHash('sha256').update(content).digest('hex');
    if (versions.some((v) => v.sha256 === sha256)) return;
    if (versions.some((v) => v.size === content.length)) {
      this.counts.corrupted++;
      this.counts.problems.push(`corrupted: ${path} (${content.length} B, sha256 ${sha256} matches no committed version)`);
    } else {
      this.counts.torn++;
      this.counts.problems.push(`torn: ${path} (${content.length} B; committed sizes ${versions.map((v) => v.size).join(', ')})`);
    }
  }

  /** Reads back everything the journal believes is still there (the final check). */
  async readBackAll(): Promise<void> {
    for (const path of [...this.present.keys()]) await this.readBack(path, this.generation.get(path) ?? 0);
  }

  /** How many paths the final check covers. */
  get presentCount(): number {
    return this.present.size;
  }
}

class JournalledDriver extends DriverDecorator {
  constructor(
    inner: StorageDriver,
    private readonly journal: FaultJournal,
  ) {
    super(inner);
  }

  override async putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void> {
    // Not bytes: the driver's own validation answers (nothing to record).
    if (!(content instanceof Uint8Array)) return this.inner.putContent(path, content, opts);
    const hash = createHash('sha256').update(content);
    this.journal.attempting(path, hash, content.length);
    try {
      await this.inner.putContent(path, content, opts);
    } catch (err) {
      this.journal.uncertain(path);
      throw err;
    }
    await this.journal.committed(path, hash, content.length);
  }

  override async writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter> {
    const writer = await this.inner.writer(path, append, opts);
    return new JournalledWriter(writer, path, this.journal, this.journal.resumed(path, append ?? false, writer.size));
  }

  override async move(sourcePath: string, destPath: string, opts?: OpOptions): Promise<void> {
    this.journal.attemptingMove(sourcePath, destPath);
    try {
      await this.inner.move(sourcePath, destPath, opts);
    } catch (err) {
      this.journal.uncertain(sourcePath);
      this.journal.uncertain(destPath);
      throw err;
    }
    await this.journal.moved(sourcePath, destPath);
  }

  override async delete(path: string, opts?: OpOptions): Promise<void> {
    const done = this.journal.deleting(path);
    try {
      await this.inner.delete(path, opts);
    } finally {
      done();
    }
  }
}

/** A writer that hashes what it passes on; `hash` undefined when the resumed bytes are unknown to the journal. */
class JournalledWriter implements FileWriter {
  constructor(
    private readonly inner: FileWriter,
    private readonly path: string,
    private readonly journal: FaultJournal,
    private hash: Hash | undefined,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.inner.write(chunk);
    this.hash?.update(chunk);
  }

  async close(): Promise<void> {
    await this.inner.close();
    if (this.hash) this.journal.closed(this.path, this.hash, this.inner.size);
  }

  async cancel(): Promise<void> {
    await this.inner.cancel();
    this.journal.cancelled(this.path);
  }

  async commit(): Promise<void> {
    this.journal.attempting(this.path, this.hash, this.inner.size);
    try {
      await this.inner.commit();
    } catch (err) {
      this.journal.uncertain(this.path);
      throw err;
    }
    if (this.hash) await this.journal.committed(this.path, this.hash, this.inner.size);
    else this.journal.uncertain(this.path);
  }

  // Over this wrapper's own methods, so that streamed bytes are hashed too.
  asWritable(options: AsWritableOptions = {}): Writable {
    return writableOf(this, options);
  }
}
