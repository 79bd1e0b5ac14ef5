/**
 * Resumable uploads for object stores with multipart uploads (S3, OSS and their clones), with
 * every piece of state kept in the bucket itself, so a new driver instance or a new process can
 * resume after close() without ListMultipartUploads/ListParts (unreliable on S3 clones):
 *
 *   <root>/.stowage~uploads/<path>/~upload.json   upload id, part size, parts with ETags, size
 *   <root>/.stowage~uploads/<path>/~tail.<id>     bytes after the last full part (< one part)
 *
 * Parts are all exactly `partSize` but the last (Cloudflare R2 rejects anything else). Nothing
 * appears at the path before commit: commit is one PutObject when everything fits in one part,
 * else CompleteMultipartUpload. The state is written at every writer open, whenever a multipart
 * upload is created and on close(), so a crash never leaves an upload that purgeUploads cannot find.
 *
 * One live writer per upload: every open writes the state with a new random `session`, which
 * fences every earlier writer. A writer reads the state back and compares the session before each
 * part goes out, before close writes the state, before commit publishes and before cancel or commit
 * remove anything; a writer that finds another session there is fenced and only removes what it
 * alone created. The stores we target cannot make UploadPart or CompleteMultipartUpload
 * conditional on another object (and Swift's s3api answers 501 to conditional PUTs), so the check
 * and the request it guards are two requests: see the S3 and OSS READMEs for the window that leaves.
 */
import { randomBytes } from 'node:crypto';
import type { FileWriterInit } from '../base/file-writer-base';
import { InvalidArgumentError, PathNotFoundError, StorageDriverError, UploadFencedError, isUploadFenced } from '../errors';
import type { OpOptions } from '../types';
import type { ObjectKeyLayout } from './key-layout';
import { copyIntoParts, type MultipartStore, type StoredObject } from './multipart-store';
import { StagedMultipartWriter, type StagedWriterHost } from './staged-writer';
import type { UploadState } from './upload-state';

// The writer and the state format live in files of their own; re-exported for the package index.
export { StagedMultipartWriter } from './staged-writer';
export type { StagedPart, UploadState } from './upload-state';

export interface StagedUploadsOptions {
  /** Size of every non-final part; at least the store's minimum. */
  partSize: number;
  /** Parts one writer uploads in parallel. Memory is bounded by partSize x (concurrency + 1). */
  concurrency: number;
}

/** Opens retried when a writer closing at the same moment replaced the tail we were about to read. */
const OPEN_ATTEMPTS = 3;

/** A random id for one writer session. */
function newSession(): string {
  return randomBytes(12).toString('hex');
}

/** The bookkeeping of staged uploads; it is also the host of the writers it opens. */
export class StagedUploads implements StagedWriterHost {
  constructor(
    readonly driverName: string,
    readonly store: MultipartStore,
    readonly layout: ObjectKeyLayout,
    readonly options: StagedUploadsOptions,
  ) {
    if (!Number.isSafeInteger(options.partSize) || options.partSize < store.minPartSize) {
      throw new InvalidArgumentError(driverName, 'partSize', `must be an integer >= ${store.minPartSize}`);
    }
    if (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1) {
      throw new InvalidArgumentError(driverName, 'concurrency', 'must be a positive integer');
    }
  }

  /** Parts one writer sends at once. */
  get concurrency(): number {
    return this.options.concurrency;
  }

  /**
   * A writer for `path`: append=false discards any unfinished upload there; append=true resumes
   * it, or else continues from the committed content (PathNotFoundError if there is neither).
   * Either way the state is written with a new session first, which fences every earlier writer.
   * `init(size)` is the driver base's `writerInit` for the starting size.
   */
  async open(path: string, append: boolean, opts: OpOptions, init: (size: number) => FileWriterInit): Promise<StagedMultipartWriter> {
    for (let attempt = 1; ; attempt++) {
      const previous = await this.readState(path, opts);
      const session = newSession();
      if (previous && append) {
        const claimed: UploadState = { ...previous, session };
        await this.writeState(claimed, opts);
        const tail = previous.tail ? await this.store.get(previous.tail.key, opts) : undefined;
        if (previous.tail && (tail === undefined || tail.length !== previous.tail.size)) {
          // A writer closing right now replaced (or a commit removed) the tail after we read the state.
          if (attempt < OPEN_ATTEMPTS) continue;
          throw new StorageDriverError(this.driverName, new Error(`staged tail ${previous.tail.key} is missing or torn`), { operation: 'writer', path });
        }
        return new StagedMultipartWriter(this, init(claimed.size), claimed, tail);
      }
      const committed = append ? await this.store.head(this.layout.key(path), opts) : undefined;
      if (append && !committed) throw new PathNotFoundError(this.driverName, path, { operation: 'writer' });
      const fresh: UploadState = { version: 1, path, session, partSize: this.options.partSize, parts: [], size: 0, startedAt: new Date().toISOString() };
      await this.writeState(fresh, opts);
      // Fenced first, then dropped: a writer still sending parts to the old upload now fails.
      if (previous) await this.abandon(previous, opts);
      if (!committed) return new StagedMultipartWriter(this, init(0), fresh, undefined);
      return this.openOnCommitted(committed, fresh, opts, init);
    }
  }

  /** An append to committed content: whole parts are copied server-side, the rest is read back. */
  private async openOnCommitted(
    committed: StoredObject,
    state: UploadState,
    opts: OpOptions,
    init: (size: number) => FileWriterInit,
  ): Promise<StagedMultipartWriter> {
    const { key } = committed;
    const { path, partSize } = state;
    const wholeParts = Math.floor(committed.size / partSize);
    if (wholeParts > 0) {
      const uploadId = await this.store.createMultipartUpload(key, opts);
      await this.recordUploadId(state, uploadId, 'writer', opts);
      state.parts = await copyIntoParts(
        this.store,
        { destKey: key, uploadId, sourceKey: key },
        wholeParts * partSize,
        partSize,
        this.options.concurrency,
        opts,
      );
      state.size = wholeParts * partSize;
    }
    const rest = committed.size - state.size;
    const tail = rest > 0 ? await this.store.getRange(key, state.size, committed.size, opts) : undefined;
    if (tail && tail.length !== rest) {
      throw new StorageDriverError(this.driverName, new Error('the committed content changed while the append was opened'), { operation: 'writer', path });
    }
    state.size = committed.size;
    return new StagedMultipartWriter(this, init(state.size), state, tail);
  }

  /** Whether `state`'s session still owns its upload (no newer writer opened, nobody removed it). */
  async owns(state: UploadState, opts: OpOptions): Promise<boolean> {
    const current = await this.readState(state.path, opts);
    return current?.session === state.session;
  }

  /** Throws UploadFencedError unless `state`'s session still owns its upload. */
  async requireOwner(state: UploadState, operation: string, opts: OpOptions): Promise<void> {
    if (!(await this.owns(state, opts))) throw new UploadFencedError(this.driverName, state.path, operation);
  }

  /**
   * Records a multipart upload this session just created in its state, so purgeUploads can find
   * (and abort) it even if the process dies now. If the session was fenced meanwhile, the upload
   * is aborted at once (nobody else knows it) and UploadFencedError is thrown.
   */
  async recordUploadId(state: UploadState, uploadId: string, operation: string, opts: OpOptions): Promise<void> {
    try {
      await this.requireOwner(state, operation, opts);
    } catch (err) {
      if (isUploadFenced(err)) await this.store.abortMultipartUpload(this.layout.key(state.path), uploadId, {}).catch(() => undefined);
      throw err;
    }
    state.uploadId = uploadId;
    await this.writeState(state, opts);
  }

  /** Removes the state and tail of a session (and aborts `abortUploadId`) only if it still owns the upload. */
  async removeOwnState(state: UploadState, opts: OpOptions, abortUploadId?: string): Promise<boolean> {
    if (!(await this.owns(state, opts))) return false;
    if (abortUploadId !== undefined) await this.store.abortMultipartUpload(this.layout.key(state.path), abortUploadId, opts);
    await this.removeState(state, opts);
    return true;
  }

  async readState(path: string, opts: OpOptions): Promise<UploadState | undefined> {
    const raw = await this.store.get(this.layout.uploadStateKey(path), opts);
    return raw === undefined ? undefined : this.parseState(raw, path);
  }

  async writeState(state: UploadState, opts: OpOptions): Promise<void> {
    await this.store.put(this.layout.uploadStateKey(state.path), Buffer.from(JSON.stringify(state)), opts);
  }

  /** Aborts the multipart upload and removes the state and the tail (and `extraKeys`). */
  async discard(state: UploadState, opts: OpOptions, extraKeys: string[] = []): Promise<void> {
    await this.abortUpload(state, opts);
    await this.removeState(state, opts, extraKeys);
  }

  /** Aborts the multipart upload and deletes the tail of a superseded state (its key now holds a newer one). */
  private async abandon(state: UploadState, opts: OpOptions): Promise<void> {
    await this.abortUpload(state, opts);
    if (state.tail) await this.store.deleteKeys([state.tail.key], opts);
  }

  private async abortUpload(state: UploadState, opts: OpOptions): Promise<void> {
    if (state.uploadId) await this.store.abortMultipartUpload(this.layout.key(state.path), state.uploadId, opts);
  }

  /** Deletes the state object and the tail, once each (purge also passes the keys it listed). */
  async removeState(state: UploadState, opts: OpOptions, extraKeys: string[] = []): Promise<void> {
    const keys = new Set([...(state.tail ? [state.tail.key] : []), this.layout.uploadStateKey(state.path), ...extraKeys]);
    await this.store.deleteKeys([...keys], opts);
  }

  /**
   * Removes every staged upload whose state (or, for an orphaned tail, the tail itself) was last
   * written before `olderThan`. Returns how many uploads were removed.
   */
  async purge(olderThan: Date, opts: OpOptions): Promise<number> {
    let purged = 0;
    // One upload's keys (`~tail.*` then `~upload.json`) are adjacent in key order, so one pass
    // with a one-upload buffer finds them all.
    let group: { path: string; objects: StoredObject[] } | undefined;
    const flush = async () => {
      if (group && (await this.purgeGroup(group.path, group.objects, olderThan, opts))) purged++;
    };
    for await (const object of this.store.listKeys(this.layout.uploadsPrefix, opts)) {
      const staged = this.layout.stagedUploadOf(object.key);
      if (!staged) continue;
      if (group?.path !== staged.path) {
        await flush();
        group = { path: staged.path, objects: [] };
      }
      group.objects.push(object);
    }
    await flush();
    return purged;
  }

  private async purgeGroup(path: string, objects: StoredObject[], olderThan: Date, opts: OpOptions): Promise<boolean> {
    const stateKey = this.layout.uploadStateKey(path);
    const stateObject = objects.find((o) => o.key === stateKey);
    const stale = (o: StoredObject) => o.modTime.getTime() < olderThan.getTime();
    if (!stateObject) {
      // Tails without a state: a close() that crashed between its two writes.
      const orphans = objects.filter(stale).map((o) => o.key);
      if (orphans.length > 0) await this.store.deleteKeys(orphans, opts);
      return orphans.length > 0;
    }
    if (!stale(stateObject)) return false;
    let state: UploadState | undefined;
    try {
      state = await this.readState(path, opts);
    } catch {
      state = undefined; // unreadable state: still remove what is there
    }
    const others = objects.map((o) => o.key);
    if (state) await this.discard(state, opts, others);
    else await this.store.deleteKeys(others, opts);
    return true;
  }

  /** The staged keys under `path` (its own upload and those below it), for tests and audits. */
  async leftovers(path: string, opts: OpOptions = {}): Promise<string[]> {
    const keys: string[] = [];
    for await (const object of this.store.listKeys(this.layout.uploadDir(path), opts)) keys.push(object.key);
    return keys;
  }

  private parseState(raw: Buffer, path: string): UploadState {
    let state: UploadState;
    try {
      state = JSON.parse(raw.toString('utf8')) as UploadState;
    } catch (err) {
      throw new StorageDriverError(this.driverName, err, { operation: 'writer', path });
    }
    const valid =
      state?.version === 1 && state.path === path && Number.isSafeInteger(state.partSize) && Array.isArray(state.parts) && Number.isSafeInteger(state.size);
    if (!valid) throw new StorageDriverError(this.driverName, new Error('unrecognised upload state'), { operation: 'writer', path });
    // A state written before sessions existed is owned by no writer alive now.
    if (typeof state.session !== 'string') state.session = '';
    return state;
  }
}
