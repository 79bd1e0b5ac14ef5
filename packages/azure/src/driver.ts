/**
 * The Stowage driver for Azure Blob Storage: distribution's `azure` driver's parameters and blob
 * names, unfinished uploads as uncommitted blocks of the target blob (invisible until an atomic
 * commit, resumable from any process), batched deletes, server-side moves and SAS redirects.
 *
 * This file maps the StorageDriver hooks onto the parts that do the work: blob-store.ts (the
 * container and its quirks), listing.ts, uploads.ts (writers and commits), staged-blocks.ts
 * (purge, leftovers, discarding blocks), batch-delete.ts and copy.ts.
 */
import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import {
  BaseStorageDriver,
  InvalidArgumentError,
  PathNotFoundError,
  ROOT,
  listByPrefix,
  statByPrefix,
  walkFlat,
  type DriverCapabilities,
  type ErrorContext,
  type LeftoverInspector,
  type FileInfo,
  type FileWriter,
  type OpOptions,
  type RedirectOptions,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { BlobDeleter } from './batch-delete';
import { BlobStore, RACE_ATTEMPTS, READ_RETRIES } from './blob-store';
import { createClients, type AzureClients } from './client';
import { copyBlob } from './copy';
import {
  azureCodeOf,
  cutResponseError,
  isConditionFailed,
  isCutResponse,
  isInvalidBlockList,
  isInvalidRange,
  isNotFound,
  mapAzureError,
  statusOf,
} from './errors';
import { BlobLayout } from './layout';
import { childNamePages, firstBlobBelow, listFiles, ListingPages } from './listing';
import { DRIVER_NAME, type AzureDriverOptions } from './options';
import { resolveSettings } from './settings';
import { StagedBlocks } from './staged-blocks';
import { BlockUploads } from './uploads';

export class AzureDriver extends BaseStorageDriver implements LeftoverInspector {
  readonly name = DRIVER_NAME;
  /** SAS URLs, unless the driver authenticates with a SAS connection string (no key to sign with). */
  override readonly supports: DriverCapabilities;
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
  private readonly store: BlobStore;
  private readonly staged: StagedBlocks;
  private readonly uploads: BlockUploads;
  private readonly deleter: BlobDeleter;

  constructor(options: AzureDriverOptions) {
    super();
    this.options = { ...options };
    const settings = resolveSettings(options);
    this.blockSize = settings.blockSize;
    this.uploadConcurrency = settings.uploadConcurrency;
    this.copyStatusPollMaxRetry = settings.copyStatusPollMaxRetry;
    this.copyStatusPollDelayMs = settings.copyStatusPollDelayMs;
    this.redirectExpirySeconds = settings.redirectExpirySeconds;
    this.maxSinglePutSize = settings.maxSinglePutSize;
    this.rootDirectory = settings.rootDirectory;
    this.clients = createClients(options);
    this.containerName = options.container;
    this.authentication = this.clients.authentication;
    this.supports = { redirect: this.clients.signer !== undefined };
    this.layout = new BlobLayout(settings.rootDirectory);
    this.store = new BlobStore(DRIVER_NAME, this.clients.container, this.layout);
    this.staged = new StagedBlocks(this.store, this.blockSize, this.uploadConcurrency);
    this.deleter = new BlobDeleter(this.store);
    this.uploads = new BlockUploads({
      store: this.store,
      staged: this.staged,
      blockSize: this.blockSize,
      uploadConcurrency: this.uploadConcurrency,
      writerInit: (path, size, opts) => this.writerInit(path, size, opts),
    });
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
      const response = await this.store.blobAt(path).download(offset, undefined, { abortSignal: opts.signal, maxRetryRequests: READ_RETRIES });
      return (response.readableStreamBody as Readable | undefined) ?? Readable.from([]);
    } catch (err) {
      // At or past the end of an existing blob: nothing to read.
      if (isInvalidRange(err)) return Readable.from([]);
      throw err;
    }
  }

  protected async _stat(path: string, opts: OpOptions): Promise<FileInfo> {
    return statByPrefix(
      this.name,
      path,
      async () => {
        try {
          const props = await this.store.blobAt(path).getProperties({ abortSignal: opts.signal });
          return { size: props.contentLength ?? 0, modTime: props.lastModified ?? new Date(0) };
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      () => firstBlobBelow(this.store, this.layout.dirPrefix(path), opts.signal),
    );
  }

  protected async _list(path: string, opts: OpOptions): Promise<string[]> {
    return listByPrefix(this.name, path, childNamePages(this.store, path, opts.signal), (name) => {
      const child = this.layout.childOf(path, name);
      // Only exact names are children: a name with more after the child is another tool's directory marker.
      return child !== undefined && name === this.layout.blobName(child) ? child : undefined;
    });
  }

  protected override async _walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions): Promise<void> {
    // A flat listing: 5000 files per request, whatever the shape of the tree. The walk engine
    // restarts the listing after subtrees it skips or walks out of key order; `pages` lets a
    // restart continue from the page it left instead of listing from the start again.
    const pages = new ListingPages();
    await walkFlat({ driverName: this.name, files: (dir, startAfter, o) => listFiles(this.store, dir, startAfter, o.signal, pages) }, path, fn, opts);
  }

  protected override async _redirectURL(path: string, opts: RedirectOptions): Promise<string | null> {
    const signer = this.clients.signer;
    if (!signer) return null; // a SAS connection string: no key to sign with
    const seconds = opts.expiresIn ?? this.redirectExpirySeconds;
    if (signer.maxLifetimeSeconds !== undefined && seconds > signer.maxLifetimeSeconds) {
      throw new InvalidArgumentError(this.name, 'expiresIn', `URLs signed with a user-delegation key live at most ${signer.maxLifetimeSeconds} seconds`, {
        operation: 'redirectURL',
        path,
      });
    }
    const sas = await signer.sign(this.layout.blobName(path), new Date(Date.now() + seconds * 1000));
    return `${this.store.blobAt(path).url}?${sas}`;
  }

  // ---- writes ----

  protected override async _putContent(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    if (content.length > this.maxSinglePutSize) return this.uploads.putInBlocks(path, content, opts);
    await this.store.writeBlob(this.layout.blobName(path), opts.signal, (blob) => blob.upload(content, content.length, { abortSignal: opts.signal }));
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    return append ? this.uploads.resume(path, opts) : this.uploads.openNew(path, opts);
  }

  protected async _move(sourcePath: string, destPath: string, opts: OpOptions): Promise<void> {
    const source = this.store.blobAt(sourcePath);
    const polling = { maxRetry: this.copyStatusPollMaxRetry, delayMs: this.copyStatusPollDelayMs };
    for (let attempt = 1; ; attempt++) {
      const props = await source.getProperties({ abortSignal: opts.signal });
      if (sourcePath === destPath) return;
      try {
        await copyBlob({ driverName: this.name, polling }, source, this.store.blobAt(destPath), props.etag, `${sourcePath} -> ${destPath}`, opts.signal);
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

  protected async _delete(path: string, opts: OpOptions): Promise<void> {
    const blob = this.store.blobAt(path);
    for (let attempt = 1; attempt <= RACE_ATTEMPTS; attempt++) {
      let etag: string | undefined;
      try {
        // Checked first: Delete Blob would also remove a blob that has only an unfinished upload.
        etag = (await blob.getProperties({ abortSignal: opts.signal })).etag;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // Seen by an earlier attempt and gone now: the delete whose answer was refused (412 after a
        // lost answer) did happen, or another did. Either way the path is deleted.
        if (attempt > 1) return;
        break;
      }
      try {
        await blob.delete({ conditions: { ifMatch: etag }, deleteSnapshots: 'include', abortSignal: opts.signal });
        return;
      } catch (err) {
        // The blob was there a moment ago and is gone now: deleted, by this call if its answer was
        // lost and the SDK's retry found nothing, or by another. Either way the path is deleted.
        if (isNotFound(err)) return;
        if (!isConditionFailed(err) || attempt >= RACE_ATTEMPTS) throw err;
      }
    }
    const deleted = await this.deleter.deleteTree(this.layout.dirPrefix(path), opts.signal);
    if (deleted === 0) throw new PathNotFoundError(this.name, path, { operation: 'delete' });
  }

  // ---- unfinished uploads ----

  protected async _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    return this.staged.purge(olderThan, opts.signal);
  }

  /**
   * What Azure holds for paths at or below `prefix` that the API does not show: blobs with
   * uncommitted blocks (unfinished or abandoned uploads), as `path (N uncommitted blocks)`.
   * Empty when every upload was committed or cancelled. The conformance suite's leftovers hook.
   */
  async leftovers(prefix: string = ROOT): Promise<string[]> {
    return this.staged.leftovers(prefix);
  }

  /** A response cut mid-body with no signal fired is the network's failure, not an abort (errors.ts isCutResponse). */
  protected override toTypedError(err: unknown, context: ErrorContext, signal?: AbortSignal): Error {
    if (isCutResponse(err, signal)) return cutResponseError(err, context);
    return super.toTypedError(err, context, signal);
  }

  protected override _mapError(err: unknown, context: ErrorContext): Error | undefined {
    if (isInvalidBlockList(err)) {
      // The blocks named in the commit are gone: another writer committed to this path, or it was
      // rewritten, deleted or purged, since this upload staged them.
      return new PathNotFoundError(this.name, context.path ?? ROOT, {
        operation: context.operation,
        cause: new Error(
          `the upload's staged blocks were discarded (the path was committed, rewritten, deleted or purged meanwhile): ${azureCodeOf(err)} ${statusOf(err) ?? ''}`,
        ),
      });
    }
    return mapAzureError(err, context);
  }
}
