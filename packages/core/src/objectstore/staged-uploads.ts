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
 * else CompleteMultipartUpload. The state is written whenever a multipart upload is created and on
 * close(), so a crash never leaves an upload that purgeUploads cannot find.
 */
import { randomBytes } from 'node:crypto';
import { BaseFileWriter, type FileWriterInit } from '../base/file-writer-base';
import { InvalidArgumentError, PathNotFoundError, StorageDriverError } from '../errors';
import type { OpOptions } from '../types';
import type { ObjectKeyLayout } from './key-layout';
import { PartQueue } from './part-queue';
import { copyIntoParts, type CompletedPart, type MultipartStore, type StoredObject } from './multipart-store';

export interface StagedPart extends CompletedPart {
  size: number;
}

/** What `~upload.json` holds. */
export interface UploadState {
  version: 1;
  path: string;
  partSize: number;
  uploadId?: string;
  /** Parts 1..n, all of `partSize` bytes. */
  parts: StagedPart[];
  tail?: { key: string; size: number };
  /** All bytes written so far: the parts plus the tail. */
  size: number;
  startedAt: string;
}

export interface StagedUploadsOptions {
  /** Size of every non-final part; at least the store's minimum. */
  partSize: number;
  /** Parts one writer uploads in parallel. Memory is bounded by partSize x (concurrency + 1). */
  concurrency: number;
}

export class StagedUploads {
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

  /**
   * A writer for `path`: append=false discards any unfinished upload there; append=true resumes
   * it, or else continues from the committed content (PathNotFoundError if there is neither).
   * `init(size)` is the driver base's `writerInit` for the starting size.
   */
  async open(path: string, append: boolean, opts: OpOptions, init: (size: number) => FileWriterInit): Promise<StagedMultipartWriter> {
    const state = await this.readState(path, opts);
    if (state && append) {
      const tail = state.tail ? await this.store.get(state.tail.key, opts) : undefined;
      if (state.tail && (tail === undefined || tail.length !== state.tail.size)) {
        throw new StorageDriverError(this.driverName, new Error(`staged tail ${state.tail.key} is missing or torn`), { operation: 'writer', path });
      }
      return new StagedMultipartWriter(this, init(state.size), state, tail, true);
    }
    if (state) await this.discard(state, opts);
    const fresh: UploadState = { version: 1, path, partSize: this.options.partSize, parts: [], size: 0, startedAt: new Date().toISOString() };
    if (!append) return new StagedMultipartWriter(this, init(0), fresh, undefined, false);
    return this.openOnCommitted(path, fresh, opts, init);
  }

  /** An append to committed content: whole parts are copied server-side, the rest is read back. */
  private async openOnCommitted(path: string, state: UploadState, opts: OpOptions, init: (size: number) => FileWriterInit): Promise<StagedMultipartWriter> {
    const key = this.layout.key(path);
    const committed = await this.store.head(key, opts);
    if (!committed) throw new PathNotFoundError(this.driverName, path, { operation: 'writer' });
    const { partSize } = state;
    const wholeParts = Math.floor(committed.size / partSize);
    if (wholeParts > 0) {
      state.uploadId = await this.store.createMultipartUpload(key, opts);
      await this.writeState(state, opts);
      state.parts = await copyIntoParts(
        this.store,
        { destKey: key, uploadId: state.uploadId, sourceKey: key },
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
    return new StagedMultipartWriter(this, init(state.size), state, tail, state.uploadId !== undefined);
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
    if (state.uploadId) await this.store.abortMultipartUpload(this.layout.key(state.path), state.uploadId, opts);
    await this.removeState(state, opts, extraKeys);
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
    return state;
  }
}

/**
 * The writer over StagedUploads: a PartQueue sends full parts as UploadPart; content of at most
 * one part commits as a single PutObject.
 */
export class StagedMultipartWriter extends BaseFileWriter {
  private readonly key: string;
  private readonly partSize: number;
  private readonly parts = new Map<number, StagedPart>();
  private readonly partQueue: PartQueue;
  /** Whether anything of this upload exists in the bucket (state, tail or multipart upload). */
  private staged: boolean;

  constructor(
    private readonly uploads: StagedUploads,
    init: FileWriterInit,
    private readonly upload: UploadState,
    tail: Buffer | undefined,
    staged: boolean,
  ) {
    super(init);
    this.key = uploads.layout.key(upload.path);
    this.partSize = upload.partSize;
    for (const part of upload.parts) this.parts.set(part.partNumber, part);
    this.staged = staged;
    this.partQueue = new PartQueue(
      this.partSize,
      uploads.options.concurrency,
      (partNumber) => this.beforePart(partNumber),
      (partNumber, body) => this.sendPart(partNumber, body),
      upload.parts.length + 1,
    );
    if (upload.uploadId !== undefined) this.partQueue.takeWholeParts();
    if (tail) this.partQueue.preload(tail);
  }

  private get store(): MultipartStore {
    return this.uploads.store;
  }

  private get opts(): OpOptions {
    return { signal: this.signal };
  }

  /**
   * close() and cancel() must still clean up after the writer's signal fired (that is what
   * cancel is for), so their store calls do not carry it.
   */
  private readonly cleanupOpts: OpOptions = {};

  protected async _write(chunk: Buffer): Promise<void> {
    await this.partQueue.write(chunk);
  }

  protected async _close(): Promise<void> {
    await this.partQueue.settle();
    // After a failed part only the parts before it are known to be stored; resume from there.
    const parts = this.confirmedParts();
    const fill = this.partQueue.fillLength;
    const keepTail = !this.partQueue.failed && fill > 0 && parts.length === this.partQueue.nextPartNumber - 1;
    const previousTail = this.upload.tail;
    let tail: UploadState['tail'];
    if (keepTail) {
      tail = { key: this.uploads.layout.tailKey(this.path, randomBytes(8).toString('hex')), size: fill };
      await this.store.put(tail.key, this.partQueue.buffered(), this.cleanupOpts);
    }
    const state: UploadState = { ...this.upload, parts, size: parts.length * this.partSize + (tail?.size ?? 0) };
    if (tail) state.tail = tail;
    else delete state.tail;
    await this.uploads.writeState(state, this.cleanupOpts);
    if (previousTail && previousTail.key !== tail?.key) await this.store.deleteKeys([previousTail.key], this.cleanupOpts);
    this.partQueue.release();
  }

  protected async _commit(): Promise<void> {
    await this.partQueue.settle();
    this.partQueue.throwIfFailed();
    if (this.upload.uploadId !== undefined && this.parts.size === 0) {
      // A multipart upload with no stored part (left by a failure): the rest fits in one PutObject.
      await this.store.abortMultipartUpload(this.key, this.upload.uploadId, this.opts);
      this.upload.uploadId = undefined;
    }
    if (this.upload.uploadId === undefined) {
      // Everything fits in one part: a single PutObject.
      await this.store.put(this.key, this.partQueue.buffered(), this.opts);
    } else {
      await this.partQueue.flush();
      await this.partQueue.settle();
      this.partQueue.throwIfFailed();
      await this.store.completeMultipartUpload(this.key, this.upload.uploadId, this.confirmedParts(), this.opts);
    }
    this.partQueue.release();
    if (this.staged) await this.uploads.removeState(this.upload, this.opts);
  }

  protected async _cancel(): Promise<void> {
    await this.partQueue.settle();
    this.partQueue.release();
    if (this.staged) await this.uploads.discard(this.upload, this.cleanupOpts);
  }

  /** Before a part goes out: within the store's part limit, and the multipart upload exists (and is recorded). */
  private async beforePart(partNumber: number): Promise<void> {
    if (partNumber > this.store.maxParts) {
      throw new InvalidArgumentError(this.driverName, 'content', `exceeds ${this.store.maxParts} parts of ${this.partSize} bytes; use a larger chunk size`, {
        operation: 'write',
        path: this.path,
      });
    }
    if (this.upload.uploadId === undefined) {
      this.upload.uploadId = await this.store.createMultipartUpload(this.key, this.opts);
      this.staged = true;
      // Recorded at once, so purgeUploads can find (and abort) it even if this process dies now.
      await this.uploads.writeState({ ...this.upload, parts: [], size: 0 }, this.opts);
    }
  }

  private async sendPart(partNumber: number, body: Buffer): Promise<void> {
    const etag = await this.store.uploadPart(this.key, this.upload.uploadId!, partNumber, body, this.opts);
    this.parts.set(partNumber, { partNumber, etag, size: body.length });
  }

  /** Parts 1..n that are known to be stored, without gaps. */
  private confirmedParts(): StagedPart[] {
    const parts: StagedPart[] = [];
    for (let n = 1; this.parts.has(n); n++) parts.push(this.parts.get(n)!);
    return parts;
  }
}
