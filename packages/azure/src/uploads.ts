/**
 * Uploads as uncommitted blocks of their target blob: opening a writer (fresh, or resuming the
 * newest unfinished upload, or continuing committed content), the conditional commit that makes
 * one live writer per upload hold, and putContent of content too large for one Put Blob.
 */
import { randomBytes } from 'node:crypto';
import type { BlobGetPropertiesResponse, BlockBlobClient } from '@azure/storage-blob';
import { PathNotFoundError, StorageDriverError, UploadFencedError, type FileWriterInit, type OpOptions } from '@stowage/core';
import { RACE_ATTEMPTS, sizeOf, type BlobStore } from './blob-store';
import { allOurs, analyseUncommitted, dataBlockId, newSession, newUploadId, type ListedBlock } from './blocks';
import { azureCodeOf, isBlobAlreadyExists, isConditionFailed, isInvalidBlockList, isNotFound, statusOf } from './errors';
import type { StagedBlocks } from './staged-blocks';
import { AzureFileWriter, BlockStager, tooManyBlocks, type BlockListing, type UploadPlan, type WriterHost } from './writer';

/** Metadata name of the nonce a commit that adds no block carries (see commitUpload). */
const COMMIT_MARKER = 'stowagecommit';

/** What the uploads need of the driver. */
export interface UploadsContext {
  store: BlobStore;
  staged: StagedBlocks;
  blockSize: number;
  uploadConcurrency: number;
  /** The driver's writerInit: error mapping and signal shared with the driver. */
  writerInit(path: string, size: number, opts: OpOptions): FileWriterInit;
}

/** The uploads of a container; it is also the host of the writers it opens. */
export class BlockUploads implements WriterHost {
  constructor(private readonly context: UploadsContext) {}

  get driverName(): string {
    return this.context.store.driverName;
  }

  get blockSize(): number {
    return this.context.blockSize;
  }

  get uploadConcurrency(): number {
    return this.context.uploadConcurrency;
  }

  async stageBlock(blobName: string, id: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    await this.context.store.stageBlock(blobName, id, body, signal);
  }

  async readBlocks(blobName: string, lists: 'all' | 'uncommitted', signal?: AbortSignal): Promise<BlockListing | undefined> {
    const { store } = this.context;
    return store.blockListing(store.blob(blobName), signal, undefined, lists);
  }

  async discardUpload(blobName: string, seen: BlockListing): Promise<void> {
    const { store, staged } = this.context;
    await staged.discard(store.blob(blobName), seen);
  }

  /** writer(P, false): a new upload; its session still needs the highest gen on the blob to be the newest. */
  async openNew(path: string, opts: OpOptions): Promise<AzureFileWriter> {
    const blobName = this.context.store.layout.blobName(path);
    const listing = await this.context.store.blockListing(this.context.store.blob(blobName), opts.signal);
    const { maxGen } = analyseUncommitted(listing?.uncommitted ?? []);
    const plan: UploadPlan = { upload: newUploadId('n'), base: [], chain: [], nextSeq: 0, session: newSession(maxGen + 1) };
    return this.open(path, blobName, 0, plan, opts);
  }

  /** writer(P, true): the newest unfinished upload, else an append to the committed content. */
  async resume(path: string, opts: OpOptions): Promise<AzureFileWriter> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.resumeOnce(path, opts);
      } catch (err) {
        // The committed content changed while it was being copied in: start over.
        if (!isConditionFailed(err) || attempt >= RACE_ATTEMPTS) throw err;
      }
    }
  }

  private async resumeOnce(path: string, opts: OpOptions): Promise<AzureFileWriter> {
    const { store, staged } = this.context;
    const blobName = store.layout.blobName(path);
    const blob = store.blob(blobName);
    const listing = await store.blockListing(blob, opts.signal, path);
    if (listing === undefined) throw new PathNotFoundError(store.driverName, path, { operation: 'writer' });
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
      return this.open(path, blobName, sizeOf(base) + current.chainSize, plan, opts);
    }
    // No upload: continue the committed content, by its block list when that list is ours and
    // makes up the whole blob ("commit the old list plus new blocks").
    if (listing.committed.length > 0 && allOurs(listing.committed) && sizeOf(listing.committed) === listing.contentLength) {
      const plan: UploadPlan = { upload: newUploadId('a'), base: listing.committed.map((b) => b.name), chain: [], nextSeq: 0, session };
      return this.open(path, blobName, listing.contentLength, plan, opts);
    }
    let props: BlobGetPropertiesResponse;
    try {
      props = await store.properties(blob, opts.signal);
    } catch (err) {
      if (isNotFound(err)) throw new PathNotFoundError(store.driverName, path, { operation: 'writer', cause: err });
      throw err;
    }
    const size = props.contentLength ?? 0;
    if (size === 0) {
      const plan: UploadPlan = { upload: newUploadId('a'), base: [], chain: [], nextSeq: 0, session };
      return this.open(path, blobName, 0, plan, opts);
    }
    // Content put in one piece (Put Blob, or by another tool) has no block list to build on: the
    // new upload starts with a copy of it, read through this process (pinned to its ETag) and
    // staged as the upload's first blocks. Put Block From URL would copy it inside Azure, but
    // Azurite does not implement it.
    const plan: UploadPlan = { upload: newUploadId('n'), base: [], chain: [], nextSeq: 0, session };
    // The copy is staged in full before the open marker: an upload that exists (has a marker)
    // always holds the whole copy, so a writer that resumes it never continues a part of it.
    const writer = new AzureFileWriter(this.context.writerInit(path, size, opts), this, blobName, plan);
    try {
      const copied = await store.downloadPinned(blob, props.etag, (chunk) => writer.preload(chunk), opts.signal);
      if (copied !== size)
        throw new StorageDriverError(store.driverName, new Error(`read ${copied} of ${size} committed bytes`), { operation: 'writer', path });
      await writer.open(opts.signal);
    } catch (err) {
      await writer.abandon();
      await staged.discardUnlessWriting(blobName).catch(() => undefined);
      throw err;
    }
    return writer;
  }

  /**
   * putContent beyond one Put Blob: blocks without a writer session, so no writer can resume or be
   * fenced by them, then one Put Block List. A failure leaves no blocks behind.
   */
  async putInBlocks(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    const { store, staged, blockSize, uploadConcurrency } = this.context;
    const blobName = store.layout.blobName(path);
    const upload = newUploadId('n');
    const session = newSession(0);
    const stager = new BlockStager(
      (id, body) => store.stageBlock(blobName, id, body, opts.signal),
      (seq) => dataBlockId(upload, seq, session),
      { blockSize, concurrency: uploadConcurrency, tooLarge: (blocks) => tooManyBlocks(store.driverName, path, blocks, blockSize) },
    );
    try {
      await stager.push(content);
      await stager.flush();
      await store.writeBlob(blobName, opts.signal, (blob) => blob.commitBlockList(stager.ids, { abortSignal: opts.signal }));
    } catch (err) {
      await stager.settle();
      await staged.discardUnlessWriting(blobName).catch(() => undefined);
      throw err;
    }
  }

  /** A writer session that has staged its open marker, so it is the upload's live writer. */
  private async open(path: string, blobName: string, size: number, plan: UploadPlan, opts: OpOptions): Promise<AzureFileWriter> {
    const writer = new AzureFileWriter(this.context.writerInit(path, size, opts), this, blobName, plan);
    await writer.open(opts.signal);
    return writer;
  }

  /**
   * A writer's commit: Put Block List naming exactly its blocks, on the condition that the blob
   * is as its last check saw it (that ETag, or no blob), so a commit by anyone in between makes
   * this one fail rather than replace it. A blob committed empty looks like no blob in Get Block
   * List: when If-None-Match finds one, it is committed over on its own ETag after one more
   * check that this writer is still live.
   */
  async commitUpload(blobName: string, path: string, ids: string[], seen: BlockListing, recheck: () => Promise<unknown>, signal?: AbortSignal): Promise<void> {
    const { store } = this.context;
    const blob = store.blob(blobName);
    const hasContent = seen.committed.length > 0 || seen.contentLength > 0;
    let conditions: { ifMatch?: string; ifNoneMatch?: string } = hasContent ? { ifMatch: seen.etag } : { ifNoneMatch: '*' };
    // A commit that adds no block (an empty upload, an append of nothing) leaves no block id of its
    // own to be known by after a lost answer: it carries a nonce in its metadata instead.
    const nonce = ids.length === 0 || sameNames(seen.committed, ids) ? randomBytes(8).toString('hex') : undefined;
    const metadata = nonce === undefined ? undefined : { [COMMIT_MARKER]: nonce };
    for (let attempt = 1; ; attempt++) {
      try {
        await store.writeBlob(blobName, signal, (b) => b.commitBlockList(ids, { conditions, metadata, abortSignal: signal }));
        return;
      } catch (err) {
        const refused = isConditionFailed(err) || isBlobAlreadyExists(err) || isInvalidBlockList(err);
        // A commit whose answer was lost is retried by the SDK, and the retry finds its own commit:
        // the condition no longer holds, or the blocks are committed. Success, but only when the
        // blob is this commit's: its committed list is exactly `ids` (which carry the upload and
        // session), or it carries this commit's nonce.
        if (refused && (await this.committedAs(blob, ids, nonce, signal))) return;
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
        if (refused) {
          throw new UploadFencedError(
            store.driverName,
            path,
            'commit',
            new Error(`the blob changed between the last check and the commit: ${azureCodeOf(err)} ${statusOf(err) ?? ''}`),
          );
        }
        throw err;
      }
    }
  }

  /**
   * Whether the blob's committed block list is exactly `ids`. Data block ids name the upload and
   * writer session, so only this commit (or one naming the very same blocks) leaves that list.
   * A commit that adds no block to what `seen` had committed is told by its `nonce` instead: the
   * blob carries it until anything else is committed.
   */
  private async committedAs(blob: BlockBlobClient, ids: readonly string[], nonce: string | undefined, signal?: AbortSignal): Promise<boolean> {
    if (nonce !== undefined) {
      try {
        return (await this.context.store.properties(blob, signal)).metadata?.[COMMIT_MARKER] === nonce;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    }
    const listing = await this.context.store.blockListing(blob, signal, undefined, 'all');
    if (listing === undefined) return false;
    return sameNames(listing.committed, ids) && sizeOf(listing.committed) === listing.contentLength;
  }
}

function sameNames(blocks: readonly ListedBlock[], ids: readonly string[]): boolean {
  return blocks.length === ids.length && blocks.every((block, i) => block.name === ids[i]);
}
