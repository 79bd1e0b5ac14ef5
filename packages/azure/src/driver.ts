import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobGetPropertiesResponse, BlobHTTPHeaders, BlockBlobClient, ContainerClient, ContainerListBlobFlatSegmentResponse } from '@azure/storage-blob';
import {
  BaseStorageDriver,
  integerOption,
  InvalidArgumentError,
  PathNotFoundError,
  ROOT,
  Semaphore,
  StorageDriverError,
  UnsupportedMethodError,
  UploadFencedError,
  compareNames,
  isSameOrBelow,
  throwIfAborted,
  walkFlat,
  type ErrorContext,
  type FileInfo,
  type FileWriter,
  type OpOptions,
  type RedirectOptions,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { allOurs, analyseUncommitted, dataBlockId, newSession, newUploadId, type ListedBlock } from './blocks';
import { createClients, type AzureClients } from './client';
import { waitForCopy, type CopyProgress } from './copy';
import {
  azureCodeOf,
  isBatchUnsupported,
  isBlobAlreadyExists,
  isConditionFailed,
  isContainerNotFound,
  isInvalidBlobType,
  isInvalidBlockList,
  isInvalidRange,
  invalidParameter,
  isNotFound,
  mapAzureError,
  statusOf,
} from './errors';
import { BlobLayout } from './layout';
import {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_COPY_STATUS_POLL_DELAY_MS,
  DEFAULT_COPY_STATUS_POLL_MAX_RETRY,
  DEFAULT_MAX_TRIES,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_UPLOAD_CONCURRENCY,
  DRIVER_NAME,
  MAX_BLOCK_SIZE,
  MAX_SINGLE_PUT_SIZE,
  PUT_BLOB_LIMIT,
  type AzureDriverOptions,
} from './options';
import { AzureFileWriter, BlockStager, MAX_COMMITTED_BLOCKS, tooManyBlocks, type BlockListing, type UploadPlan, type WriterHost } from './writer';

/** Names per List Blobs page (Azure's maximum). */
const LIST_PAGE_SIZE = 5000;
/** The first page of a walk's listing: often all the walk wants is whether a directory has a file. */
const FIRST_PAGE_SIZE = 100;
/** Sub-requests per blob batch (Azure's maximum). */
const BATCH_SIZE = 256;
/** Requests run at once by deletes without batch support, purgeUploads and leftovers. */
const PARALLEL_REQUESTS = 16;
/** How often a broken read stream is resumed (pinned to the blob's ETag, so never mixing versions). */
const READ_RETRIES = 5;
/** Attempts at an operation whose precondition raced with another writer. */
const RACE_ATTEMPTS = 3;

/**
 * The Stowage driver for Azure Blob Storage: distribution's `azure` driver's parameters and blob
 * names, unfinished uploads as uncommitted blocks of the target blob (invisible until an atomic
 * commit, resumable from any process), batched deletes, server-side moves and SAS redirects.
 */
export class AzureDriver extends BaseStorageDriver {
  readonly name = DRIVER_NAME;
  readonly containerName: string;
  readonly rootDirectory: string;
  readonly blockSize: number;
  readonly uploadConcurrency: number;
  readonly copyStatusPollMaxRetry: number;
  readonly copyStatusPollDelayMs: number;
  readonly redirectExpirySeconds: number;
  readonly maxSinglePutSize: number;
  /** How requests are authenticated ('shared key', 'client secret', ...). */
  readonly authentication: string;
  /** The options this driver was built from (a second instance over the same storage uses them too). */
  readonly options: Readonly<AzureDriverOptions>;
  private readonly clients: AzureClients;
  private readonly layout: BlobLayout;
  private readonly host: WriterHost;
  private creatingContainer: Promise<void> | undefined;
  private batchSupported = true;

  constructor(options: AzureDriverOptions) {
    super();
    this.options = { ...options };
    const rootDirectory = options.rootDirectory ?? '';
    if (typeof rootDirectory !== 'string') throw invalidParameter('rootdirectory', 'must be a string');
    this.blockSize = integerOption(DRIVER_NAME, 'blocksize', options.blockSize, { default: DEFAULT_BLOCK_SIZE, min: 1, max: MAX_BLOCK_SIZE });
    this.uploadConcurrency = integerOption(DRIVER_NAME, 'uploadconcurrency', options.uploadConcurrency, { default: DEFAULT_UPLOAD_CONCURRENCY, min: 1, max: 64 });
    this.copyStatusPollMaxRetry = integerOption(DRIVER_NAME, 'copy_status_poll_max_retry', options.copyStatusPollMaxRetry, { default: DEFAULT_COPY_STATUS_POLL_MAX_RETRY, min: -1, max: 1000 });
    this.copyStatusPollDelayMs = numberOption('copy_status_poll_delay', options.copyStatusPollDelayMs, DEFAULT_COPY_STATUS_POLL_DELAY_MS, 0);
    this.redirectExpirySeconds = numberOption('redirectexpiry', options.redirectExpirySeconds, DEFAULT_REDIRECT_EXPIRY_SECONDS, Number.MIN_VALUE);
    this.maxSinglePutSize = integerOption(DRIVER_NAME, 'maxsingleputsize', options.maxSinglePutSize, { default: MAX_SINGLE_PUT_SIZE, min: 0, max: PUT_BLOB_LIMIT });
    integerOption(DRIVER_NAME, 'maxtries', options.maxTries, { default: DEFAULT_MAX_TRIES, min: 1, max: 100 });
    this.clients = createClients(options);
    this.containerName = options.container;
    this.rootDirectory = rootDirectory;
    this.authentication = this.clients.authentication;
    this.layout = new BlobLayout(rootDirectory);
    this.host = {
      driverName: DRIVER_NAME,
      blockSize: this.blockSize,
      uploadConcurrency: this.uploadConcurrency,
      stageBlock: (blobName, id, body, signal) => this.stageBlock(blobName, id, body, signal),
      readBlocks: (blobName, lists, signal) => this.blockListing(this.clients.container.getBlockBlobClient(blobName), signal, undefined, lists),
      commitUpload: (blobName, path, ids, seen, recheck, signal) => this.commitUpload(blobName, path, ids, seen, recheck, signal),
      discardUpload: async (blobName, seen) => {
        await this.discardStaged(this.clients.container.getBlockBlobClient(blobName), seen);
      },
    };
  }

  /** The SDK's container client, for callers that need what the driver does not do. */
  get containerClient(): ContainerClient {
    return this.clients.container;
  }

  /** The blob name of a path (distribution's mapping). */
  blobName(path: string): string {
    return this.layout.blobName(path);
  }

  // ---- reads ----

  protected async _reader(path: string, offset: number, opts: OpOptions): Promise<Readable> {
    try {
      const response = await this.blob(path).download(offset, undefined, { abortSignal: opts.signal, maxRetryRequests: READ_RETRIES });
      return (response.readableStreamBody as Readable | undefined) ?? Readable.from([]);
    } catch (err) {
      // At or past the end of an existing blob: nothing to read.
      if (isInvalidRange(err)) return Readable.from([]);
      throw err;
    }
  }

  protected async _stat(path: string, opts: OpOptions): Promise<FileInfo> {
    if (path === ROOT) return { path, size: 0, modTime: new Date(0), isDir: true };
    try {
      const props = await this.blob(path).getProperties({ abortSignal: opts.signal });
      return { path, size: props.contentLength ?? 0, modTime: props.lastModified ?? new Date(0), isDir: false };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (await this.hasAnyBlobBelow(this.layout.dirPrefix(path), opts.signal)) return { path, size: 0, modTime: new Date(0), isDir: true };
    throw new PathNotFoundError(this.name, path, { operation: 'stat' });
  }

  protected async _list(path: string, opts: OpOptions): Promise<string[]> {
    const children = await this.listChildren(path, opts.signal);
    if (children.size === 0 && path !== ROOT) throw new PathNotFoundError(this.name, path, { operation: 'list' });
    return [...children.keys()].sort(compareNames);
  }

  protected override async _walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions): Promise<void> {
    // A flat listing: 5000 files per request, whatever the shape of the tree. The walk engine
    // restarts the listing after subtrees it skips or walks out of key order; `pages` lets a
    // restart continue from the page it left instead of listing from the start again.
    const pages = new ListingPages();
    await walkFlat({ driverName: this.name, files: (dir, startAfter, o) => this.listFiles(dir, startAfter, o.signal, pages) }, path, fn, opts);
  }

  /** Every file below `dir`, in byte order of name, after the path `startAfter` if given. */
  private async *listFiles(dir: string, startAfter: string | undefined, signal: AbortSignal | undefined, pages: ListingPages): AsyncGenerator<FileInfo> {
    const prefix = this.layout.dirPrefix(dir);
    const after = startAfter === undefined ? undefined : this.layout.blobName(startAfter);
    const resume = after === undefined ? undefined : pages.resumeToken(prefix, after);
    if (resume === END_OF_LISTING) return;
    let token: string | undefined = resume;
    // A small first page: the walk often only asks whether a directory has any file at all.
    let pageSize = token === undefined ? FIRST_PAGE_SIZE : LIST_PAGE_SIZE;
    for (;;) {
      let page: ContainerListBlobFlatSegmentResponse | undefined;
      try {
        page = (await this.clients.container.listBlobsFlat({ prefix, abortSignal: signal }).byPage({ continuationToken: token, maxPageSize: pageSize }).next()).value;
      } catch (err) {
        if (isContainerNotFound(err)) return;
        throw err;
      }
      if (!page) return;
      const items = page.segment.blobItems;
      const next: string | undefined = page.continuationToken || undefined;
      if (items.length > 0) pages.record(prefix, token, items[items.length - 1]!.name, next);
      for (const item of items) {
        if (after !== undefined && item.name <= after) continue;
        const path = this.layout.pathOf(item.name);
        if (path !== undefined) yield { path, size: item.properties.contentLength ?? 0, modTime: item.properties.lastModified, isDir: false };
      }
      if (next === undefined) return;
      token = next;
      pageSize = LIST_PAGE_SIZE;
    }
  }

  // ---- writes ----

  protected override async _putContent(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    const blobName = this.layout.blobName(path);
    if (content.length <= this.maxSinglePutSize) {
      await this.writeBlob(blobName, opts.signal, (blob) => blob.upload(content, content.length, { abortSignal: opts.signal }));
      return;
    }
    // Blocks without a writer session: this is no upload a writer could resume or be fenced by.
    const upload = newUploadId('n');
    const session = newSession(0);
    const stager = new BlockStager(
      (id, body, signal) => this.stageBlock(blobName, id, body, signal),
      (seq) => dataBlockId(upload, seq, session),
      this.blockSize,
      this.uploadConcurrency,
      0,
      [],
      MAX_COMMITTED_BLOCKS,
      (blocks) => tooManyBlocks(this.name, path, blocks, this.blockSize),
    );
    try {
      await stager.push(content, opts.signal);
      await stager.flush(opts.signal);
      await this.writeBlob(blobName, opts.signal, (blob) => blob.commitBlockList(stager.ids, { abortSignal: opts.signal }));
    } catch (err) {
      await stager.settle();
      await this.discardUnlessWriting(blobName).catch(() => undefined);
      throw err;
    }
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    const blobName = this.layout.blobName(path);
    if (!append) {
      // A new upload; its session still needs the highest gen on the blob to be the newest.
      const listing = await this.blockListing(this.clients.container.getBlockBlobClient(blobName), opts.signal);
      const { maxGen } = analyseUncommitted(listing?.uncommitted ?? []);
      const plan: UploadPlan = { upload: newUploadId('n'), base: [], chain: [], nextSeq: 0, session: newSession(maxGen + 1) };
      return this.openWriter(path, blobName, 0, plan, opts);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.resumeWriter(path, blobName, opts);
      } catch (err) {
        // The committed content changed while it was being copied in: start over.
        if (!isConditionFailed(err) || attempt >= RACE_ATTEMPTS) throw err;
      }
    }
  }

  /** writer(P, true): the newest unfinished upload, else an append to the committed content. */
  private async resumeWriter(path: string, blobName: string, opts: OpOptions): Promise<FileWriter> {
    const blob = this.clients.container.getBlockBlobClient(blobName);
    const listing = await this.blockListing(blob, opts.signal, path);
    if (listing === undefined) throw new PathNotFoundError(this.name, path, { operation: 'writer' });
    const { current, maxGen } = analyseUncommitted(listing.uncommitted);
    const session = newSession(maxGen + 1);
    if (current?.head) {
      const base = current.upload.mode === 'a' ? listing.committed : [];
      const plan: UploadPlan = {
        upload: current.upload,
        base: base.map((b) => b.name),
        chain: current.chain,
        nextSeq: current.nextSeq,
        session,
        pred: current.head,
      };
      return this.openWriter(path, blobName, sizeOf(base) + current.chainSize, plan, opts);
    }
    // No upload: continue the committed content, by its block list when that list is ours and
    // makes up the whole blob ("commit the old list plus new blocks").
    if (listing.committed.length > 0 && allOurs(listing.committed) && sizeOf(listing.committed) === listing.contentLength) {
      const plan: UploadPlan = { upload: newUploadId('a'), base: listing.committed.map((b) => b.name), chain: [], nextSeq: 0, session };
      return this.openWriter(path, blobName, listing.contentLength, plan, opts);
    }
    let props: BlobGetPropertiesResponse;
    try {
      props = await blob.getProperties({ abortSignal: opts.signal });
    } catch (err) {
      if (isNotFound(err)) throw new PathNotFoundError(this.name, path, { operation: 'writer', cause: err });
      throw err;
    }
    const size = props.contentLength ?? 0;
    if (size === 0) {
      const plan: UploadPlan = { upload: newUploadId('a'), base: [], chain: [], nextSeq: 0, session };
      return this.openWriter(path, blobName, 0, plan, opts);
    }
    // Content put in one piece (Put Blob, or by another tool) has no block list to build on: the
    // new upload starts with a copy of it, read through this process (pinned to its ETag) and
    // staged as the upload's first blocks. Put Block From URL would copy it inside Azure, but
    // Azurite does not implement it.
    const plan: UploadPlan = { upload: newUploadId('n'), base: [], chain: [], nextSeq: 0, session };
    // The copy is staged in full before the open marker: an upload that exists (has a marker)
    // always holds the whole copy, so a writer that resumes it never continues a part of it.
    const writer = new AzureFileWriter(this.writerInit(path, size, opts), this.host, blobName, plan);
    try {
      const response = await blob.download(0, undefined, { abortSignal: opts.signal, maxRetryRequests: READ_RETRIES, conditions: { ifMatch: props.etag } });
      let copied = 0;
      for await (const chunk of response.readableStreamBody as Readable) {
        copied += (chunk as Buffer).length;
        await writer.preload(chunk as Buffer);
      }
      if (copied !== size) throw new StorageDriverError(this.name, new Error(`read ${copied} of ${size} committed bytes`), { operation: 'writer', path });
      await writer.open(opts.signal);
    } catch (err) {
      await writer.abandon();
      await this.discardUnlessWriting(blobName).catch(() => undefined);
      throw err;
    }
    return writer;
  }

  /** A writer session that has staged its open marker, so it is the upload's live writer. */
  private async openWriter(path: string, blobName: string, size: number, plan: UploadPlan, opts: OpOptions): Promise<AzureFileWriter> {
    const writer = new AzureFileWriter(this.writerInit(path, size, opts), this.host, blobName, plan);
    await writer.open(opts.signal);
    return writer;
  }

  protected async _move(sourcePath: string, destPath: string, opts: OpOptions): Promise<void> {
    const source = this.blob(sourcePath);
    for (let attempt = 1; ; attempt++) {
      const props = await source.getProperties({ abortSignal: opts.signal });
      if (sourcePath === destPath) return;
      try {
        await this.copyBlob(source, this.blob(destPath), props.etag, sourcePath, destPath, opts.signal);
      } catch (err) {
        // The source changed between the two requests: copy the new version.
        if (isConditionFailed(err) && attempt < RACE_ATTEMPTS) continue;
        throw err;
      }
      try {
        await source.delete({ conditions: { ifMatch: props.etag }, deleteSnapshots: 'include' });
      } catch (err) {
        // Deleted meanwhile, or rewritten: the newer version stays where it was written.
        if (!isNotFound(err) && !isConditionFailed(err)) throw err;
      }
      return;
    }
  }

  /** Server-side copy with distribution's polling; an unfinished copy is aborted, its destination removed, and reported. */
  private async copyBlob(source: BlockBlobClient, dest: BlockBlobClient, etag: string | undefined, sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const poller = await dest.beginCopyFromURL(source.url, { sourceConditions: { ifMatch: etag }, abortSignal: signal });
    // The poller's state carries the copy id (BlobBeginCopyFromUrlPollState), its public type does not.
    const state = poller.getOperationState() as { isCompleted?: boolean; copyId?: string };
    const started: CopyProgress = { status: state.isCompleted ? 'success' : 'pending', copyId: state.copyId };
    const outcome = await waitForCopy(
      started,
      async () => {
        const props = await dest.getProperties({ abortSignal: signal });
        return { status: props.copyStatus, copyId: props.copyId, description: props.copyStatusDescription };
      },
      { maxRetry: this.copyStatusPollMaxRetry, delayMs: this.copyStatusPollDelayMs },
      (ms) => sleep(ms, undefined, { signal }),
    );
    if (outcome.kind === 'success') return;
    let reason: string;
    if (outcome.kind === 'unfinished') {
      reason = `the server-side copy did not finish after ${outcome.polls} status polls (copy_status_poll_max_retry ${this.copyStatusPollMaxRetry}); it was aborted`;
      if (outcome.copyId) await dest.abortCopyFromURL(outcome.copyId).catch(() => undefined);
    } else {
      reason = outcome.reason;
    }
    // An aborted or failed copy leaves an empty destination blob behind; it must not look like the file.
    await dest.delete().catch(() => undefined);
    throw new StorageDriverError(this.name, new Error(reason), { operation: 'move', path: `${sourcePath} -> ${destPath}` });
  }

  protected async _delete(path: string, opts: OpOptions): Promise<void> {
    const blob = this.blob(path);
    for (let attempt = 1; attempt <= RACE_ATTEMPTS; attempt++) {
      let etag: string | undefined;
      try {
        // Checked first: Delete Blob would also remove a blob that has only an unfinished upload.
        etag = (await blob.getProperties({ abortSignal: opts.signal })).etag;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        break;
      }
      try {
        await blob.delete({ conditions: { ifMatch: etag }, deleteSnapshots: 'include', abortSignal: opts.signal });
        return;
      } catch (err) {
        if (isNotFound(err)) break;
        if (!isConditionFailed(err) || attempt >= RACE_ATTEMPTS) throw err;
      }
    }
    const deleted = await this.deleteTree(this.layout.dirPrefix(path), opts.signal);
    if (deleted === 0) throw new PathNotFoundError(this.name, path, { operation: 'delete' });
  }

  /** Deletes every committed blob below a name prefix, a listing page at a time, in batches; returns how many. */
  private async deleteTree(prefix: string, signal?: AbortSignal): Promise<number> {
    let deleted = 0;
    const pages = this.clients.container.listBlobsFlat({ prefix, abortSignal: signal }).byPage({ maxPageSize: LIST_PAGE_SIZE });
    try {
      for await (const page of pages) {
        const names = page.segment.blobItems.map((item) => item.name);
        for (let i = 0; i < names.length; i += BATCH_SIZE) {
          throwIfAborted(signal, { driverName: this.name, operation: 'delete' });
          await this.deleteBlobs(names.slice(i, i + BATCH_SIZE), signal);
        }
        deleted += names.length;
      }
    } catch (err) {
      if (isContainerNotFound(err)) return deleted;
      throw err;
    }
    return deleted;
  }

  private async deleteBlobs(names: string[], signal?: AbortSignal): Promise<void> {
    if (this.batchSupported && names.length > 1) {
      try {
        const clients = names.map((name) => this.clients.container.getBlobClient(name));
        const response = await this.clients.container.getBlobBatchClient().deleteBlobs(clients, { deleteSnapshots: 'include', abortSignal: signal });
        const failed = response.subResponses.find((sub) => sub.status >= 300 && sub.status !== 404);
        if (failed) {
          throw new StorageDriverError(this.name, new Error(`batch delete of ${failed._request.url}: ${failed.status} ${failed.errorCode ?? failed.statusMessage}`), { operation: 'delete' });
        }
        return;
      } catch (err) {
        if (!isBatchUnsupported(err)) throw err;
        this.batchSupported = false;
      }
    }
    const limiter = new Semaphore(PARALLEL_REQUESTS);
    await Promise.all(
      names.map((name) =>
        limiter.run(async () => {
          try {
            await this.clients.container.getBlobClient(name).delete({ deleteSnapshots: 'include', abortSignal: signal });
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }),
      ),
    );
  }

  protected override async _redirectURL(path: string, opts: RedirectOptions): Promise<string | null> {
    const signer = this.clients.signer;
    if (!signer) return null; // a SAS connection string: no key to sign with
    const seconds = opts.expiresIn ?? this.redirectExpirySeconds;
    if (signer.maxLifetimeSeconds !== undefined && seconds > signer.maxLifetimeSeconds) {
      throw new InvalidArgumentError(this.name, 'expiresIn', `URLs signed with a user-delegation key live at most ${signer.maxLifetimeSeconds} seconds`, { operation: 'redirectURL', path });
    }
    const blob = this.blob(path);
    const sas = await signer.sign(this.layout.blobName(path), new Date(Date.now() + seconds * 1000));
    return `${blob.url}?${sas}`;
  }

  // ---- unfinished uploads ----

  protected async _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    const cutoff = olderThan.getTime();
    let purged = 0;
    await this.forEachStagedBlob(this.layout.rootPrefix, opts.signal, true, async (name, listing, listedModified) => {
      const { all, foreignBlocks } = analyseUncommitted(listing.uncommitted);
      let lastWrite = Math.max(0, ...all.map((u) => u.lastWrite));
      // Blocks of another tool carry no time of ours: the blob's own Last-Modified is all there is.
      if (foreignBlocks > 0) lastWrite = Math.max(lastWrite, listedModified?.getTime() ?? Number.POSITIVE_INFINITY);
      if (lastWrite >= cutoff) return;
      if (await this.discardStaged(this.clients.container.getBlockBlobClient(name), listing)) purged++;
    });
    return purged;
  }

  /**
   * What Azure holds for paths at or below `prefix` that the API does not show: blobs with
   * uncommitted blocks (unfinished or abandoned uploads), as `path (N uncommitted blocks)`.
   * Empty when every upload was committed or cancelled. The conformance suite's leftovers hook.
   */
  async leftovers(prefix: string = ROOT): Promise<string[]> {
    const found: string[] = [];
    const namePrefix = prefix === ROOT ? this.layout.rootPrefix : this.layout.blobName(prefix);
    await this.forEachStagedBlob(namePrefix, undefined, false, async (name, { uncommitted }) => {
      const path = this.layout.pathOf(name);
      if (prefix !== ROOT && (path === undefined || !isSameOrBelow(path, prefix))) return;
      found.push(`${path ?? name} (${uncommitted.length} uncommitted block${uncommitted.length === 1 ? '' : 's'})`);
    });
    return found.sort();
  }

  /**
   * Calls `fn` for every blob below a name prefix that has uncommitted blocks. With
   * `uploadsOnly`, only blobs without committed content are looked at (an upload to a new path,
   * the registry's case): the listing shows those with length 0, whereas finding uploads over
   * committed content would take a request per stored blob.
   */
  private async forEachStagedBlob(
    namePrefix: string,
    signal: AbortSignal | undefined,
    uploadsOnly: boolean,
    fn: (name: string, listing: BlockListing, lastModified: Date | undefined) => Promise<void>,
  ): Promise<void> {
    const limiter = new Semaphore(PARALLEL_REQUESTS);
    const pending: Promise<void>[] = [];
    let failure: unknown;
    try {
      const pages = this.clients.container.listBlobsFlat({ prefix: namePrefix, includeUncommitedBlobs: true, abortSignal: signal }).byPage({ maxPageSize: LIST_PAGE_SIZE });
      for await (const page of pages) {
        for (const item of page.segment.blobItems) {
          if (uploadsOnly && (item.properties.contentLength ?? 0) > 0) continue;
          if (failure !== undefined) throw failure;
          throwIfAborted(signal, { driverName: this.name, operation: 'purgeUploads' });
          const release = await limiter.acquire();
          const task = (async () => {
            try {
              const listing = await this.blockListing(this.clients.container.getBlockBlobClient(item.name), signal);
              if (listing && listing.uncommitted.length > 0) await fn(item.name, listing, item.properties.lastModified);
            } catch (err) {
              failure ??= err;
            } finally {
              release();
            }
          })();
          pending.push(task);
        }
      }
    } catch (err) {
      if (!isContainerNotFound(err)) failure ??= err;
    }
    await Promise.all(pending);
    if (failure !== undefined) throw failure;
  }

  /**
   * A writer's commit: Put Block List naming exactly its blocks, on the condition that the blob
   * is as its last check saw it (that ETag, or no blob), so a commit by anyone in between makes
   * this one fail rather than replace it. A blob committed empty looks like no blob in Get Block
   * List: when If-None-Match finds one, it is committed over on its own ETag after one more
   * check that this writer is still live.
   */
  private async commitUpload(blobName: string, path: string, ids: string[], seen: BlockListing, recheck: () => Promise<unknown>, signal?: AbortSignal): Promise<void> {
    const blob = this.clients.container.getBlockBlobClient(blobName);
    const hasContent = seen.committed.length > 0 || seen.contentLength > 0;
    let conditions: { ifMatch?: string; ifNoneMatch?: string } = hasContent ? { ifMatch: seen.etag } : { ifNoneMatch: '*' };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writeBlob(blobName, signal, (b) => b.commitBlockList(ids, { conditions, abortSignal: signal }));
        return;
      } catch (err) {
        if (isBlobAlreadyExists(err) && attempt === 1) {
          let etag: string | undefined;
          try {
            etag = (await blob.getProperties({ abortSignal: signal })).etag;
          } catch (inner) {
            if (!isNotFound(inner)) throw inner;
          }
          await recheck();
          if (etag !== undefined) {
            conditions = { ifMatch: etag };
            continue;
          }
        }
        // Committed, replaced or deleted since the check (which drops this writer's blocks too).
        if (isConditionFailed(err) || isBlobAlreadyExists(err) || isInvalidBlockList(err)) {
          throw new UploadFencedError(this.name, path, 'commit', new Error(`the blob changed between the last check and the commit: ${azureCodeOf(err)} ${statusOf(err) ?? ''}`));
        }
        throw err;
      }
    }
  }

  /** After a failed putContent: drop its blocks, unless a writer's upload is staged on the blob too. */
  private async discardUnlessWriting(blobName: string): Promise<void> {
    const blob = this.clients.container.getBlockBlobClient(blobName);
    const listing = await this.blockListing(blob);
    if (!listing || listing.uncommitted.length === 0 || analyseUncommitted(listing.uncommitted).current) return;
    await this.discardStaged(blob, listing);
  }

  /**
   * Removes every uncommitted block of a blob and leaves its committed content as it is. Without
   * committed content that is Delete Blob. With it, Azure drops uncommitted blocks only when the
   * blob is committed again, so the committed content is committed anew: by its own block list
   * when that makes up the content, else from a copy of the content staged as blocks. The bytes,
   * headers and metadata stay; Last-Modified and the ETag change. Returns false when there was
   * nothing to remove.
   */
  private async discardStaged(blob: BlockBlobClient, known?: BlockListing): Promise<boolean> {
    let listing = known;
    for (let attempt = 1; ; attempt++) {
      listing ??= await this.blockListing(blob);
      if (!listing || listing.uncommitted.length === 0) return false;
      let props: BlobGetPropertiesResponse | undefined;
      try {
        props = await blob.getProperties();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      try {
        if (!props) {
          const deleted = await blob.delete();
          if (servedByAzurite(deleted)) await this.clearAzuriteBlocks(blob);
        } else {
          await this.recommit(blob, listing, props);
        }
        return true;
      } catch (err) {
        if (isNotFound(err)) return true;
        // Rewritten meanwhile (which may have dropped the blocks already): look again.
        if (!isConditionFailed(err) || attempt >= RACE_ATTEMPTS) throw err;
        listing = undefined;
      }
    }
  }

  /**
   * Azurite (3.35) keeps the uncommitted blocks of a deleted blob and shows them again once the
   * name is used anew; only Put Block List clears them. So there, and only there, the blob is
   * committed empty (for the length of one request) and deleted again.
   */
  private async clearAzuriteBlocks(blob: BlockBlobClient): Promise<void> {
    try {
      const empty = await blob.commitBlockList([], { conditions: { ifNoneMatch: '*' } });
      await blob.delete({ conditions: { ifMatch: empty.etag } });
    } catch (err) {
      // Written meanwhile: that write cleared them already.
      if (!isConditionFailed(err) && !isNotFound(err) && statusOf(err) !== 409) throw err;
    }
  }

  private async recommit(blob: BlockBlobClient, listing: BlockListing, props: BlobGetPropertiesResponse): Promise<void> {
    const options = {
      conditions: { ifMatch: props.etag },
      blobHTTPHeaders: headersOf(props),
      metadata: props.metadata,
      ...(props.accessTierInferred || !props.accessTier ? {} : { tier: props.accessTier }),
    };
    const length = props.contentLength ?? 0;
    const reproducible = listing.committed.length > 0 ? sizeOf(listing.committed) === length : length === 0;
    if (reproducible) {
      await blob.commitBlockList(listing.committed.map((b) => b.name), options);
      return;
    }
    const upload = newUploadId('n');
    const session = newSession(0);
    const stager = new BlockStager(
      (id, body) => blob.stageBlock(id, body, body.length).then(() => undefined),
      (seq) => dataBlockId(upload, seq, session),
      this.blockSize,
      this.uploadConcurrency,
    );
    const response = await blob.download(0, undefined, { maxRetryRequests: READ_RETRIES, conditions: { ifMatch: props.etag } });
    for await (const chunk of response.readableStreamBody as Readable) await stager.push(chunk as Buffer);
    await stager.flush();
    await blob.commitBlockList(stager.ids, options);
  }

  // ---- helpers ----

  private blob(path: string): BlockBlobClient {
    return this.clients.container.getBlockBlobClient(this.layout.blobName(path));
  }

  /**
   * Get Block List (`lists`: both, or the uncommitted one only); undefined when there is no blob
   * at all (no content, no blocks), empty lists for a non-block blob.
   */
  private async blockListing(blob: BlockBlobClient, signal?: AbortSignal, path?: string, lists: 'all' | 'uncommitted' = 'all'): Promise<BlockListing | undefined> {
    try {
      const list = await blob.getBlockList(lists, { abortSignal: signal });
      return {
        committed: (list.committedBlocks ?? []).map(listed),
        uncommitted: (list.uncommittedBlocks ?? []).map(listed),
        contentLength: list.blobContentLength ?? 0,
        etag: list.etag,
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (isInvalidBlobType(err)) {
        // An append or page blob (distribution writes append blobs): it has no blocks to build on.
        if (path !== undefined) {
          throw new UnsupportedMethodError(this.name, 'writer(path, true) on an append or page blob', { path, cause: err });
        }
        return { committed: [], uncommitted: [], contentLength: 0 };
      }
      throw err;
    }
  }

  /** The direct children of a directory, with what the listing says about them. */
  private async listChildren(dir: string, signal?: AbortSignal): Promise<Map<string, FileInfo>> {
    const children = new Map<string, FileInfo>();
    const prefix = this.layout.dirPrefix(dir);
    try {
      const pages = this.clients.container.listBlobsByHierarchy('/', { prefix, abortSignal: signal }).byPage({ maxPageSize: LIST_PAGE_SIZE });
      for await (const page of pages) {
        for (const item of page.segment.blobPrefixes ?? []) {
          const child = this.layout.childOf(dir, item.name);
          if (child !== undefined && !children.has(child)) children.set(child, { path: child, size: 0, modTime: new Date(0), isDir: true });
        }
        for (const item of page.segment.blobItems) {
          const child = this.layout.childOf(dir, item.name);
          // A name with more after the child is a directory marker of another tool; only exact names are files.
          if (child === undefined || item.name !== this.layout.blobName(child)) continue;
          children.set(child, { path: child, size: item.properties.contentLength ?? 0, modTime: item.properties.lastModified, isDir: false });
        }
      }
    } catch (err) {
      if (!isContainerNotFound(err)) throw err;
    }
    return children;
  }

  private async hasAnyBlobBelow(prefix: string, signal?: AbortSignal): Promise<boolean> {
    try {
      const pages = this.clients.container.listBlobsFlat({ prefix, abortSignal: signal }).byPage({ maxPageSize: 1 });
      for await (const page of pages) {
        if (page.segment.blobItems.length > 0) return true;
      }
    } catch (err) {
      if (!isContainerNotFound(err)) throw err;
    }
    return false;
  }

  private async stageBlock(blobName: string, id: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    await this.writeBlob(blobName, signal, (blob) => blob.stageBlock(id, body, body.length, { abortSignal: signal }));
  }

  /**
   * Runs a write on a block blob: creates the container when it is missing, and replaces an
   * append or page blob (which distribution's driver writes) with a block blob first, as
   * distribution does, since blocks cannot be staged on one.
   */
  private async writeBlob(blobName: string, signal: AbortSignal | undefined, write: (blob: BlockBlobClient) => Promise<unknown>): Promise<void> {
    const blob = this.clients.container.getBlockBlobClient(blobName);
    for (let attempt = 1; ; attempt++) {
      try {
        await write(blob);
        return;
      } catch (err) {
        if (attempt >= RACE_ATTEMPTS) throw err;
        if (isContainerNotFound(err)) await this.createContainer();
        else if (isInvalidBlobType(err)) await this.removeNonBlockBlob(blob, signal);
        else throw err;
      }
    }
  }

  private async removeNonBlockBlob(blob: BlockBlobClient, signal?: AbortSignal): Promise<void> {
    try {
      const props = await blob.getProperties({ abortSignal: signal });
      if (props.blobType !== 'BlockBlob') await blob.delete({ conditions: { ifMatch: props.etag }, deleteSnapshots: 'include', abortSignal: signal });
    } catch (err) {
      if (!isNotFound(err) && !isConditionFailed(err)) throw err;
    }
  }

  private createContainer(): Promise<void> {
    this.creatingContainer ??= this.clients.container
      .createIfNotExists()
      .then(() => undefined)
      .finally(() => {
        this.creatingContainer = undefined;
      });
    return this.creatingContainer;
  }

  protected override _mapError(err: unknown, context: ErrorContext): Error | undefined {
    if (isInvalidBlockList(err)) {
      // The blocks named in the commit are gone: another writer committed to this path, or it was
      // rewritten, deleted or purged, since this upload staged them.
      return new PathNotFoundError(this.name, context.path ?? ROOT, {
        operation: context.operation,
        cause: new Error(`the upload's staged blocks were discarded (the path was committed, rewritten, deleted or purged meanwhile): ${azureCodeOf(err)} ${statusOf(err) ?? ''}`),
      });
    }
    return mapAzureError(err, context);
  }
}

const END_OF_LISTING = Symbol('end of listing');

/**
 * The pages of flat listings seen during one walk: for each name prefix, which continuation token
 * led to a page and the last name on it. A listing that restarts after a name continues from the
 * page holding that name (List Blobs has no "start after"; its tokens are opaque but reusable).
 */
class ListingPages {
  private readonly byPrefix = new Map<string, Array<{ token: string | undefined; last: string; next: string | undefined }>>();

  record(prefix: string, token: string | undefined, last: string, next: string | undefined): void {
    let pages = this.byPrefix.get(prefix);
    if (!pages) this.byPrefix.set(prefix, (pages = []));
    if (pages.length > 0 && pages[pages.length - 1]!.last >= last) return; // already known
    pages.push({ token, last, next });
  }

  /** Where to list from to get the names after `after`: a token, undefined (the start) or END_OF_LISTING. */
  resumeToken(prefix: string, after: string): string | undefined | typeof END_OF_LISTING {
    const pages = this.byPrefix.get(prefix) ?? [];
    for (const page of pages) if (page.last > after) return page.token;
    const lastPage = pages[pages.length - 1];
    if (!lastPage) return undefined;
    return lastPage.next ?? END_OF_LISTING;
  }
}

/** Whether a response came from Azurite, whose emulation differs from Azure in places the driver must know. */
function servedByAzurite(response: { _response?: { headers?: { get(name: string): string | undefined } } }): boolean {
  return response._response?.headers?.get('server')?.startsWith('Azurite') ?? false;
}

function listed(block: { name?: string; size?: number }): ListedBlock {
  return { name: block.name ?? '', size: block.size ?? 0 };
}

function sizeOf(blocks: readonly ListedBlock[]): number {
  return blocks.reduce((sum, b) => sum + b.size, 0);
}

function headersOf(props: BlobGetPropertiesResponse): BlobHTTPHeaders {
  return {
    blobContentType: props.contentType,
    blobContentEncoding: props.contentEncoding,
    blobContentLanguage: props.contentLanguage,
    blobContentDisposition: props.contentDisposition,
    blobCacheControl: props.cacheControl,
    blobContentMD5: props.contentMD5,
  };
}


function numberOption(parameter: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw invalidParameter(parameter, `must be a number of at least ${min}, got ${String(value)}`);
  return value;
}
