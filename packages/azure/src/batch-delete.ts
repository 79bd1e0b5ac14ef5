/**
 * Deleting many blobs: Blob Batch requests of up to 256 deletes, or, where the service has no
 * batch support (Azurite), single deletes a few at once.
 */
import { Semaphore, StorageDriverError, isTransientNetworkError, throwIfAborted } from '@stowage/core';
import { LIST_PAGE_SIZE, PARALLEL_REQUESTS, RACE_ATTEMPTS, type BlobStore } from './blob-store';
import { isBatchUnsupported, isContainerNotFound, isCutResponse, isNotFound } from './errors';

/** Sub-requests per blob batch (Azure's maximum). */
const BATCH_SIZE = 256;

export class BlobDeleter {
  /** Cleared at the first batch the service refuses, so later deletes go one by one at once. */
  private batchSupported = true;

  constructor(private readonly store: BlobStore) {}

  /** Deletes every committed blob below a name prefix, a listing page at a time; returns how many. */
  async deleteTree(prefix: string, signal?: AbortSignal): Promise<number> {
    let deleted = 0;
    const pages = this.store.container.listBlobsFlat({ prefix, abortSignal: signal }).byPage({ maxPageSize: LIST_PAGE_SIZE });
    try {
      for await (const page of pages) {
        const names = page.segment.blobItems.map((item) => item.name);
        for (let i = 0; i < names.length; i += BATCH_SIZE) {
          throwIfAborted(signal, { driverName: this.store.driverName, operation: 'delete' });
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
    const { container } = this.store;
    for (let attempt = 1; this.batchSupported && names.length > 1; attempt++) {
      try {
        const clients = names.map((name) => container.getBlobClient(name));
        const response = await container.getBlobBatchClient().deleteBlobs(clients, { deleteSnapshots: 'include', abortSignal: signal });
        const failed = response.subResponses.find((sub) => sub.status >= 300 && sub.status !== 404);
        if (failed) {
          throw new StorageDriverError(
            this.store.driverName,
            new Error(`batch delete of ${failed._request.url}: ${failed.status} ${failed.errorCode ?? failed.statusMessage}`),
            { operation: 'delete' },
          );
        }
        return;
      } catch (err) {
        // A batch whose answer was cut may have run in part: deleting again is harmless (a
        // missing blob answers 404, which counts as deleted).
        if (attempt < RACE_ATTEMPTS && (isCutResponse(err, signal) || isTransientNetworkError(err))) continue;
        if (!isBatchUnsupported(err)) throw err;
        this.batchSupported = false;
      }
    }
    const limiter = new Semaphore(PARALLEL_REQUESTS);
    await Promise.all(
      names.map((name) =>
        limiter.run(async () => {
          try {
            await container.getBlobClient(name).delete({ deleteSnapshots: 'include', abortSignal: signal });
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }),
      ),
    );
  }
}
