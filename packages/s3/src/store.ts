/**
 * The S3 operations the driver and the shared StagedUploads need, by key. Errors are the SDK's
 * own; the driver maps them. Every request carries the caller's AbortSignal.
 */
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ObjectCannedACL,
  type S3Client,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import {
  MiB,
  isTransientNetworkError,
  readAll,
  type CompletedPart,
  type ListOptions,
  type ListPage,
  type ObjectStore,
  type OpOptions,
  type StoredObject,
} from '@stowage/core';
import { retryRead } from '@stowage/core/internal';
import { isS3NotFound, isS3NoSuchUpload } from './errors';

/** Attempts at a GetObject whose body is cut (readWhole), and the first wait between them (doubling). */
const BODY_READ_ATTEMPTS = 4;
const BODY_RETRY_DELAY_MS = 100;

/** DeleteObjects takes at most this many keys. */
export const DELETE_BATCH = 1000;

/** Headers every object-creating request carries: ACL, storage class, server-side encryption. */
export interface ObjectCreationParams {
  ACL?: ObjectCannedACL;
  StorageClass?: StorageClass;
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
}

export class S3Store implements ObjectStore {
  readonly minPartSize = 5 * MiB;
  readonly maxParts = 10_000;

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly creation: ObjectCreationParams,
  ) {}

  async head(key: string, opts: OpOptions): Promise<StoredObject | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: opts.signal });
      return { key, size: out.ContentLength ?? 0, modTime: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw err;
    }
  }

  async get(key: string, opts: OpOptions): Promise<Buffer | undefined> {
    try {
      return await this.readWhole(key, undefined, opts);
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw err;
    }
  }

  async getRange(key: string, start: number, end: number, opts: OpOptions): Promise<Buffer> {
    if (end <= start) return Buffer.alloc(0);
    return this.readWhole(key, `bytes=${start}-${end - 1}`, opts);
  }

  /**
   * A GetObject read whole, made again when its body is cut: the SDK retries up to the headers
   * and hands a body over 1 MiB (client.ts) unread, so a connection lost in it (an upload's tail,
   * up to a part, read by a writer's open) failed the call.
   */
  private readWhole(key: string, range: string | undefined, opts: OpOptions): Promise<Buffer> {
    const read = async () => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range }), { abortSignal: opts.signal });
      return readAll(out.Body as AsyncIterable<Uint8Array>);
    };
    return retryRead(read, {
      attempts: BODY_READ_ATTEMPTS,
      delayMs: (attempt) => BODY_RETRY_DELAY_MS * 2 ** (attempt - 1),
      retriable: isTransientNetworkError,
      signal: opts.signal,
    });
  }

  async put(key: string, body: Buffer, opts: OpOptions): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: 'application/octet-stream',
        ...this.creation,
      }),
      { abortSignal: opts.signal },
    );
  }

  async deleteKeys(keys: string[], opts: OpOptions): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), {
        abortSignal: opts.signal,
      });
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw Object.assign(new Error(`DeleteObjects failed for ${failed.length} key(s), first ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim()), {
          name: first.Code ?? 'DeleteObjectsError',
        });
      }
    }
  }

  async *listKeys(prefix: string, opts: OpOptions & { startAfter?: string }): AsyncIterable<StoredObject> {
    for await (const page of this.listPages(prefix, opts)) yield* page.objects;
  }

  async *listPages(prefix: string, opts: ListOptions): AsyncIterable<ListPage> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(opts.delimiter ? { Delimiter: opts.delimiter } : {}),
          ...(opts.maxKeys ? { MaxKeys: opts.maxKeys } : {}),
          ...(token ? { ContinuationToken: token } : opts.startAfter ? { StartAfter: opts.startAfter } : {}),
        }),
        { abortSignal: opts.signal },
      );
      const objects: StoredObject[] = [];
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) objects.push({ key: object.Key, size: object.Size ?? 0, modTime: object.LastModified ?? new Date(0) });
      }
      yield { objects, prefixes: (page.CommonPrefixes ?? []).flatMap((p) => (p.Prefix === undefined ? [] : [p.Prefix])) };
      // With maxKeys the caller wants the first page only.
      token = page.IsTruncated && !opts.maxKeys ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async copyObject(destKey: string, sourceKey: string, opts: OpOptions): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({ Bucket: this.bucket, Key: destKey, CopySource: this.copySource(sourceKey), MetadataDirective: 'COPY', ...this.creation }),
      { abortSignal: opts.signal },
    );
  }

  async createMultipartUpload(key: string, opts: OpOptions): Promise<string> {
    const out = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'application/octet-stream', ...this.creation }),
      { abortSignal: opts.signal },
    );
    if (!out.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    return out.UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, opts: OpOptions): Promise<string> {
    const out = await this.client.send(
      new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
      { abortSignal: opts.signal },
    );
    if (!out.ETag) throw new Error(`UploadPart ${partNumber} returned no ETag`);
    return out.ETag;
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, start: number, end: number, opts: OpOptions): Promise<string> {
    const out = await this.client.send(
      new UploadPartCopyCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        CopySource: this.copySource(sourceKey),
        CopySourceRange: `bytes=${start}-${end - 1}`,
      }),
      { abortSignal: opts.signal },
    );
    const etag = out.CopyPartResult?.ETag;
    if (!etag) throw new Error(`UploadPartCopy ${partNumber} returned no ETag`);
    return etag;
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[], opts: OpOptions): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
      }),
      { abortSignal: opts.signal },
    );
  }

  async abortMultipartUpload(key: string, uploadId: string, opts: OpOptions): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), { abortSignal: opts.signal });
    } catch (err) {
      if (!isS3NoSuchUpload(err)) throw err;
    }
  }

  /** `bucket/key`, URL-encoded as x-amz-copy-source requires (the slashes stay). */
  copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }
}
