/**
 * Uncommitted blocks outside a writer: finding the blobs that hold them (purgeUploads, leftovers)
 * and removing them while the committed content stays. Azure drops uncommitted blocks only when a
 * blob is committed again or deleted, so removing them means committing the content anew.
 */
import { randomBytes } from 'node:crypto';
import type { BlobGetPropertiesResponse, BlobHTTPHeaders, BlockBlobClient } from '@azure/storage-blob';
import { ROOT, Semaphore, isSameOrBelow, throwIfAborted } from '@stowage/core';
import { RACE_ATTEMPTS, LIST_PAGE_SIZE, PARALLEL_REQUESTS, servedByAzurite, sizeOf, type BlobStore } from './blob-store';
import { analyseUncommitted, dataBlockId, newSession, newUploadId } from './blocks';
import { isConditionFailed, isContainerNotFound, isNotFound, statusOf } from './errors';
import { BlockStager, type BlockListing } from './writer';

export class StagedBlocks {
  constructor(
    private readonly store: BlobStore,
    private readonly blockSize: number,
    private readonly uploadConcurrency: number,
  ) {}

  /** purgeUploads: discards the uploads last written before `olderThan`; returns how many blobs it cleared. */
  async purge(olderThan: Date, signal?: AbortSignal): Promise<number> {
    const cutoff = olderThan.getTime();
    let purged = 0;
    await this.forEachStagedBlob(this.store.layout.rootPrefix, signal, true, async (name, listing, listedModified) => {
      const { all, foreignBlocks } = analyseUncommitted(listing.uncommitted);
      let lastWrite = Math.max(0, ...all.map((u) => u.lastWrite));
      // Blocks of another tool carry no time of ours: the blob's own Last-Modified is all there is.
      if (foreignBlocks > 0) lastWrite = Math.max(lastWrite, listedModified?.getTime() ?? Number.POSITIVE_INFINITY);
      if (lastWrite >= cutoff) return;
      if (await this.discard(this.store.blob(name), listing)) purged++;
    });
    return purged;
  }

  /**
   * What Azure holds for paths at or below `prefix` that the API does not show: blobs with
   * uncommitted blocks (unfinished or abandoned uploads), as `path (N uncommitted blocks)`.
   */
  async leftovers(prefix: string): Promise<string[]> {
    const { layout } = this.store;
    const found: string[] = [];
    const namePrefix = prefix === ROOT ? layout.rootPrefix : layout.blobName(prefix);
    await this.forEachStagedBlob(namePrefix, undefined, false, async (name, { uncommitted }) => {
      const path = layout.pathOf(name);
      if (prefix !== ROOT && (path === undefined || !isSameOrBelow(path, prefix))) return;
      found.push(`${path ?? name} (${uncommitted.length} uncommitted block${uncommitted.length === 1 ? '' : 's'})`);
    });
    return found.sort();
  }

  /** After a failed putContent: drop its blocks, unless a writer's upload is staged on the blob too. */
  async discardUnlessWriting(blobName: string): Promise<void> {
    const blob = this.store.blob(blobName);
    const listing = await this.store.blockListing(blob);
    if (!listing || listing.uncommitted.length === 0 || analyseUncommitted(listing.uncommitted).current) return;
    await this.discard(blob, listing);
  }

  /**
   * Removes every uncommitted block of a blob and leaves its committed content as it is. Without
   * committed content that is Delete Blob. With it, the committed content is committed anew: by
   * its own block list when that makes up the content, else from a copy of the content staged as
   * blocks. The bytes, headers and metadata stay; Last-Modified and the ETag change. Returns false
   * when there was nothing to remove.
   */
  async discard(blob: BlockBlobClient, known?: BlockListing): Promise<boolean> {
    let listing = known;
    for (let attempt = 1; ; attempt++) {
      listing ??= await this.store.blockListing(blob);
      if (!listing || listing.uncommitted.length === 0) return false;
      let props: BlobGetPropertiesResponse | undefined;
      try {
        props = await blob.getProperties();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      try {
        if (!props) {
          await deleteUncommitted(blob);
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
      const pages = this.store.container
        .listBlobsFlat({ prefix: namePrefix, includeUncommitedBlobs: true, abortSignal: signal })
        .byPage({ maxPageSize: LIST_PAGE_SIZE });
      for await (const page of pages) {
        for (const item of page.segment.blobItems) {
          if (uploadsOnly && (item.properties.contentLength ?? 0) > 0) continue;
          if (failure !== undefined) throw failure;
          throwIfAborted(signal, { driverName: this.store.driverName, operation: 'purgeUploads' });
          const release = await limiter.acquire();
          const task = (async () => {
            try {
              const listing = await this.store.blockListing(this.store.blob(item.name), signal);
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

  /** Commits the blob's committed content again, which drops its uncommitted blocks. */
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
      await blob.commitBlockList(
        listing.committed.map((b) => b.name),
        options,
      );
      return;
    }
    const upload = newUploadId('n');
    const session = newSession(0);
    const stager = new BlockStager(
      (id, body) => blob.stageBlock(id, body, body.length).then(() => undefined),
      (seq) => dataBlockId(upload, seq, session),
      { blockSize: this.blockSize, concurrency: this.uploadConcurrency },
    );
    await this.store.downloadPinned(blob, props.etag, (chunk) => stager.push(chunk));
    await stager.flush();
    await blob.commitBlockList(stager.ids, options);
  }
}

/**
 * Azurite (3.35) keeps the uncommitted blocks of a deleted blob and shows them again once the
 * name is used anew; only Put Block List clears them. So there, and only there, the blob is
 * committed empty (for the length of one request) and deleted again.
 */
/**
 * Delete Blob of a blob with no committed content. Azurite keeps the uncommitted blocks of a blob
 * it deleted (a new upload of the path would meet the old one's markers), so there they are
 * cleared too: also when the delete's answer was lost and the SDK's retry was answered 404.
 */
async function deleteUncommitted(blob: BlockBlobClient): Promise<void> {
  let azurite: boolean;
  try {
    azurite = servedByAzurite(await blob.delete());
  } catch (err) {
    if (!isNotFound(err) || !servedByAzurite(err)) throw err;
    azurite = true;
  }
  if (azurite) await clearAzuriteBlocks(blob);
}

async function clearAzuriteBlocks(blob: BlockBlobClient): Promise<void> {
  // The empty commit carries a nonce, so when its answer is lost and the SDK's retry finds the
  // blob, the blob is known to be this empty commit (deleted) and not someone's write (kept).
  const nonce = randomBytes(8).toString('hex');
  try {
    const empty = await blob.commitBlockList([], { conditions: { ifNoneMatch: '*' }, metadata: { [CLEAR_MARKER]: nonce } });
    await blob.delete({ conditions: { ifMatch: empty.etag } });
  } catch (err) {
    if (statusOf(err) === 409) {
      await deleteIfClearedBy(blob, nonce);
      return;
    }
    // Written meanwhile: that write cleared them already.
    if (!isConditionFailed(err) && !isNotFound(err)) throw err;
  }
}

/** Metadata name of clearAzuriteBlocks' empty commit. */
const CLEAR_MARKER = 'stowageclear';

/** Deletes the blob when it is still clearAzuriteBlocks' empty commit carrying `nonce`. */
async function deleteIfClearedBy(blob: BlockBlobClient, nonce: string): Promise<void> {
  try {
    const props = await blob.getProperties();
    if (props.metadata?.[CLEAR_MARKER] !== nonce) return;
    await blob.delete({ conditions: { ifMatch: props.etag } });
  } catch (err) {
    if (!isConditionFailed(err) && !isNotFound(err)) throw err;
  }
}

/** The HTTP headers a blob was stored with, as a commit takes them back. */
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
