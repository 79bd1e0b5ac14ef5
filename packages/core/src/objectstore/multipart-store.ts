/**
 * The object-store operations a multipart-staged writer needs, by key. Each cloud driver (S3, OSS)
 * adapts its SDK to this; the writer, the staged-upload bookkeeping and purgeUploads are shared.
 * Methods throw the SDK's own errors: the driver's `_mapError` turns them into typed ones.
 */
import { Semaphore } from '../util/semaphore';
import type { OpOptions } from '../types';

export interface StoredObject {
  key: string;
  size: number;
  modTime: Date;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface MultipartStore {
  /** The smallest non-final part the store accepts (S3: 5 MiB, OSS: 100 KiB). */
  readonly minPartSize: number;
  /** The most parts one upload may have (10,000 on S3 and OSS). */
  readonly maxParts: number;

  /** Size and time of the object at `key`, or undefined if there is none. */
  head(key: string, opts: OpOptions): Promise<StoredObject | undefined>;
  /** The whole (small) object at `key`, or undefined if there is none. */
  get(key: string, opts: OpOptions): Promise<Buffer | undefined>;
  /** Bytes `start` to `end` (exclusive) of the object at `key`. */
  getRange(key: string, start: number, end: number, opts: OpOptions): Promise<Buffer>;
  put(key: string, body: Buffer, opts: OpOptions): Promise<void>;
  /** Deletes these keys (missing ones are fine), in as few requests as the store allows. */
  deleteKeys(keys: string[], opts: OpOptions): Promise<void>;
  /** Every object whose key starts with `prefix`, in byte order of keys, after `startAfter` if given. */
  listKeys(prefix: string, opts: OpOptions & { startAfter?: string }): AsyncIterable<StoredObject>;

  createMultipartUpload(key: string, opts: OpOptions): Promise<string>;
  uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, opts: OpOptions): Promise<string>;
  /** Copies bytes `start` to `end` (exclusive) of `sourceKey` as one part; returns its ETag. */
  uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, start: number, end: number, opts: OpOptions): Promise<string>;
  completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[], opts: OpOptions): Promise<void>;
  /** Aborts the upload; an upload that no longer exists is not an error. */
  abortMultipartUpload(key: string, uploadId: string, opts: OpOptions): Promise<void>;
}

/**
 * Copies bytes [0, length) of `sourceKey` into parts 1..n of the multipart upload `uploadId` at
 * `destKey`, `partSize` bytes each (the last may be shorter), `concurrency` at a time. Used by
 * move's multipart copy and by an append that starts from committed content.
 */
export async function copyIntoParts(
  store: MultipartStore,
  target: { destKey: string; uploadId: string; sourceKey: string },
  length: number,
  partSize: number,
  concurrency: number,
  opts: OpOptions,
): Promise<Array<CompletedPart & { size: number }>> {
  const slots = new Semaphore(concurrency);
  return Promise.all(
    Array.from({ length: Math.ceil(length / partSize) }, (_, i) =>
      slots.run(async () => {
        const start = i * partSize;
        const end = Math.min(length, start + partSize);
        const etag = await store.uploadPartCopy(target.destKey, target.uploadId, i + 1, target.sourceKey, start, end, opts);
        return { partNumber: i + 1, etag, size: end - start };
      }),
    ),
  );
}
