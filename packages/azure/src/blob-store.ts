/**
 * The container as the driver uses it: block blob clients by name, Get Block List as a
 * BlockListing, and writes that create a missing container and replace the append or page blobs
 * distribution's driver writes. Every other file reaches Azure through this one.
 */
import type { BlobDownloadResponseParsed, BlobGetPropertiesResponse, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { UnsupportedMethodError } from '@stowage/core';
import type { ListedBlock } from './blocks';
import { retryRead } from './client';
import { isConditionFailed, isContainerNotFound, isInvalidBlobType, isInvalidRange, isNotFound } from './errors';
import type { BlobLayout } from './layout';
import type { BlockListing } from './writer';

/** Names per List Blobs page (Azure's maximum). */
export const LIST_PAGE_SIZE = 5000;
/** Requests run at once by deletes without batch support, purgeUploads and leftovers. */
export const PARALLEL_REQUESTS = 16;
/** How often a broken read stream is resumed (pinned to the blob's ETag, so never mixing versions). */
export const READ_RETRIES = 5;
/** Attempts at an operation whose precondition raced with another writer. */
export const RACE_ATTEMPTS = 3;

export class BlobStore {
  private creatingContainer: Promise<void> | undefined;

  constructor(
    readonly driverName: string,
    readonly container: ContainerClient,
    readonly layout: BlobLayout,
  ) {}

  /** The block blob client of a blob name. */
  blob(blobName: string): BlockBlobClient {
    return this.container.getBlockBlobClient(blobName);
  }

  /** The block blob client of a path. */
  blobAt(path: string): BlockBlobClient {
    return this.blob(this.layout.blobName(path));
  }

  /**
   * Get Block List (`lists`: both, or the uncommitted one only); undefined when there is no blob
   * at all (no content, no blocks), empty lists for a non-block blob. With `path`, a non-block blob
   * is an UnsupportedMethodError instead (a writer cannot resume one).
   */
  async blockListing(blob: BlockBlobClient, signal?: AbortSignal, path?: string, lists: 'all' | 'uncommitted' = 'all'): Promise<BlockListing | undefined> {
    try {
      const list = await retryRead(() => blob.getBlockList(lists, { abortSignal: signal }), signal);
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
          throw new UnsupportedMethodError(this.driverName, 'writer(path, true) on an append or page blob', { path, cause: err });
        }
        return { committed: [], uncommitted: [], contentLength: 0 };
      }
      throw err;
    }
  }

  /**
   * Get Blob Properties, asked again when it fails in a way that may pass (retryRead); for the
   * reads a writer's open depends on, where a failure would fail the open.
   */
  async properties(blob: BlockBlobClient, signal?: AbortSignal): Promise<BlobGetPropertiesResponse> {
    return retryRead(() => blob.getProperties({ abortSignal: signal }), signal);
  }

  /**
   * Hands the content of the blob's version `etag` to `sink`, chunk by chunk, in order, and returns
   * how many bytes it handed over. A download that breaks (cut mid-body, which the SDK does not
   * resume, or failing through the SDK's tries) is started again where it stopped, pinned to the
   * same ETag (retryRead): the bytes are the same version's or the call fails with 412. A failure
   * of `sink` ends it at once, unretried.
   */
  async downloadPinned(blob: BlockBlobClient, etag: string | undefined, sink: (chunk: Buffer) => Promise<void>, signal?: AbortSignal): Promise<number> {
    let delivered = 0;
    let sinkFailure: { error: unknown } | undefined;
    await retryRead(async () => {
      let response: BlobDownloadResponseParsed;
      try {
        response = await blob.download(delivered, undefined, { abortSignal: signal, maxRetryRequests: READ_RETRIES, conditions: { ifMatch: etag } });
      } catch (err) {
        // Broken after its last byte: resuming at the end finds nothing more.
        if (delivered > 0 && isInvalidRange(err)) return;
        throw err;
      }
      for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) {
        try {
          await sink(chunk);
        } catch (err) {
          sinkFailure = { error: err };
          return;
        }
        delivered += chunk.length;
      }
    }, signal);
    if (sinkFailure) throw sinkFailure.error;
    return delivered;
  }

  async stageBlock(blobName: string, id: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    await this.writeBlob(blobName, signal, (blob) => blob.stageBlock(id, body, body.length, { abortSignal: signal }));
  }

  /**
   * Runs a write on a block blob: creates the container when it is missing, and replaces an
   * append or page blob (which distribution's driver writes) with a block blob first, as
   * distribution does, since blocks cannot be staged on one.
   */
  async writeBlob(blobName: string, signal: AbortSignal | undefined, write: (blob: BlockBlobClient) => Promise<unknown>): Promise<void> {
    const blob = this.blob(blobName);
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
    this.creatingContainer ??= this.container
      .createIfNotExists()
      .then(() => undefined)
      .finally(() => {
        this.creatingContainer = undefined;
      });
    return this.creatingContainer;
  }
}

type Headers = { headers?: { get(name: string): string | undefined } };

/**
 * Whether an answer came from Azurite, whose emulation differs from Azure in places the driver
 * must know: a response (its `_response`) or a RestError (its `response`).
 */
export function servedByAzurite(answer: unknown): boolean {
  const { _response, response } = (answer ?? {}) as { _response?: Headers; response?: Headers };
  return (_response ?? response)?.headers?.get('server')?.startsWith('Azurite') ?? false;
}

function listed(block: { name?: string; size?: number }): ListedBlock {
  return { name: block.name ?? '', size: block.size ?? 0 };
}

/** Total bytes of a list of blocks. */
export function sizeOf(blocks: readonly ListedBlock[]): number {
  return blocks.reduce((sum, b) => sum + b.size, 0);
}
