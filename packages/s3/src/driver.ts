import { Readable } from 'node:stream';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  BaseStorageDriver,
  InvalidArgumentError,
  ObjectKeyLayout,
  PathNotFoundError,
  ROOT,
  Semaphore,
  StagedUploads,
  compareNames,
  mapReadableErrors,
  readAll,
  walkFlat,
  type ErrorContext,
  type FileInfo,
  type FileWriter,
  type FlatListingSource,
  type OpOptions,
  type RedirectOptions,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { buildS3Client } from './client';
import { isS3InvalidRange, mapS3Error } from './errors';
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MULTIPART_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
  DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DRIVER_NAME,
  MAX_COPY_OBJECT_SIZE,
  MIN_CHUNK_SIZE,
  MIN_COPY_PART_SIZE,
  type S3DriverOptions,
} from './options';
import { S3Store, type ObjectCreationParams } from './store';

/**
 * A StorageDriver over Amazon S3 or any S3-compatible store. Keys are distribution's s3-aws keys
 * (rootdirectory + path, leading slash trimmed), so either can read what the other wrote.
 * Unfinished uploads are staged by core's StagedUploads under `<root>/.stowage~uploads/`.
 */
export class S3Driver extends BaseStorageDriver {
  readonly name = DRIVER_NAME;
  readonly client: S3Client;
  readonly bucket: string;
  readonly layout: ObjectKeyLayout;
  readonly store: S3Store;
  readonly uploads: StagedUploads;
  readonly chunkSize: number;
  private readonly copyChunkSize: number;
  private readonly copyMaxConcurrency: number;
  private readonly copyThresholdSize: number;
  private readonly creation: ObjectCreationParams;

  constructor(readonly options: S3DriverOptions) {
    super();
    if (typeof options.bucket !== 'string' || options.bucket === '') throw new InvalidArgumentError(DRIVER_NAME, 'bucket', 'must be a non-empty string');
    this.bucket = options.bucket;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(this.chunkSize) || this.chunkSize < MIN_CHUNK_SIZE) {
      throw new InvalidArgumentError(DRIVER_NAME, 'chunkSize', `must be an integer >= ${MIN_CHUNK_SIZE} (5 MiB)`);
    }
    this.copyChunkSize = options.multipartCopyChunkSize ?? DEFAULT_MULTIPART_COPY_CHUNK_SIZE;
    this.copyMaxConcurrency = options.multipartCopyMaxConcurrency ?? DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY;
    this.copyThresholdSize = Math.min(options.multipartCopyThresholdSize ?? DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE, MAX_COPY_OBJECT_SIZE);
    if (!Number.isSafeInteger(this.copyChunkSize) || this.copyChunkSize < MIN_COPY_PART_SIZE) {
      throw new InvalidArgumentError(DRIVER_NAME, 'multipartCopyChunkSize', `must be an integer >= ${MIN_COPY_PART_SIZE} (5 MiB)`);
    }
    if (!Number.isSafeInteger(this.copyMaxConcurrency) || this.copyMaxConcurrency < 1) {
      throw new InvalidArgumentError(DRIVER_NAME, 'multipartCopyMaxConcurrency', 'must be a positive integer');
    }
    if (!Number.isSafeInteger(this.copyThresholdSize) || this.copyThresholdSize < 0) {
      throw new InvalidArgumentError(DRIVER_NAME, 'multipartCopyThresholdSize', 'must be a non-negative integer');
    }
    if (options.encrypt === false && options.keyId) throw new InvalidArgumentError(DRIVER_NAME, 'keyId', 'needs encrypt: true');
    this.creation = creationParams(options);
    this.client = options.client ?? buildS3Client(options);
    this.layout = new ObjectKeyLayout(options.rootDirectory ?? '');
    this.store = new S3Store(this.client, this.bucket, this.creation);
    this.uploads = new StagedUploads(DRIVER_NAME, this.store, this.layout, {
      partSize: this.chunkSize,
      concurrency: options.multipartConcurrency ?? DEFAULT_MULTIPART_CONCURRENCY,
    });
  }

  /** Staged-upload keys under `path`: what an interrupted or leaked upload leaves behind. */
  leftovers(path: string): Promise<string[]> {
    return this.uploads.leftovers(path);
  }

  /** Closes the client's sockets; the driver is unusable afterwards. */
  destroy(): void {
    this.client.destroy();
  }

  protected override async _getContent(path: string, opts: OpOptions): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.layout.key(path) }), { abortSignal: opts.signal });
    return readAll(out.Body as AsyncIterable<Uint8Array>);
  }

  protected override async _putContent(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    await this.store.put(this.layout.key(path), content, opts);
  }

  protected async _reader(path: string, offset: number, opts: OpOptions): Promise<Readable> {
    const key = this.layout.key(path);
    let body: Readable;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) }),
        { abortSignal: opts.signal },
      );
      body = out.Body as Readable;
    } catch (err) {
      // A range at or past the end: the object exists (else NoSuchKey), so the read is empty.
      if (offset > 0 && isS3InvalidRange(err)) return emptyReadable();
      throw err;
    }
    return mapReadableErrors(body, (err) => this.toTypedError(err, { operation: 'reader', path }, opts.signal), opts.signal);
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    return this.uploads.open(path, append, opts, (size) => this.writerInit(path, size, opts));
  }

  protected async _stat(path: string, opts: OpOptions): Promise<FileInfo> {
    const file = await this.store.head(this.layout.key(path), opts);
    if (file) return { path, size: file.size, modTime: file.modTime, isDir: false };
    // No object: a directory if any key lies below it.
    for await (const page of this.store.listPages(this.layout.dirPrefix(path), { ...opts, maxKeys: 1 })) {
      const first = page.Contents?.[0];
      if (first) return { path, size: 0, modTime: first.LastModified ?? new Date(0), isDir: true };
    }
    throw new PathNotFoundError(this.name, path, { operation: 'stat' });
  }

  protected async _list(path: string, opts: OpOptions): Promise<string[]> {
    const prefix = this.layout.dirPrefix(path);
    const children: string[] = [];
    let seenAny = false;
    for await (const page of this.store.listPages(prefix, { ...opts, delimiter: '/' })) {
      const names = [
        ...(page.Contents ?? []).map((o) => o.Key),
        ...(page.CommonPrefixes ?? []).map((p) => p.Prefix?.replace(/\/$/, '')),
      ];
      for (const key of names) {
        if (key === undefined) continue;
        seenAny = true;
        // Staged uploads and foreign keys with invalid names are not part of the tree.
        const child = this.layout.pathOf(key);
        if (child !== undefined) children.push(child);
      }
    }
    if (path !== ROOT && !seenAny) throw new PathNotFoundError(this.name, path, { operation: 'list' });
    return children.sort((a, b) => compareNames(a, b));
  }

  protected async _move(sourcePath: string, destPath: string, opts: OpOptions): Promise<void> {
    const sourceKey = this.layout.key(sourcePath);
    const source = await this.store.head(sourceKey, opts);
    if (!source) throw new PathNotFoundError(this.name, sourcePath, { operation: 'move' });
    if (sourcePath === destPath) return;
    const destKey = this.layout.key(destPath);
    if (source.size <= this.copyThresholdSize) {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: destKey, CopySource: this.store.copySource(sourceKey), MetadataDirective: 'COPY', ...this.creation }),
        { abortSignal: opts.signal },
      );
    } else {
      await this.multipartCopy(sourceKey, destKey, source.size, opts);
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: sourceKey }), { abortSignal: opts.signal });
  }

  /** UploadPartCopy in `multipartcopychunksize` parts, `multipartcopymaxconcurrency` at a time. */
  private async multipartCopy(sourceKey: string, destKey: string, size: number, opts: OpOptions): Promise<void> {
    const partSize = Math.max(this.copyChunkSize, Math.ceil(size / this.store.maxParts));
    const count = Math.ceil(size / partSize);
    const uploadId = await this.store.createMultipartUpload(destKey, opts);
    try {
      const slots = new Semaphore(this.copyMaxConcurrency);
      const parts = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const release = await slots.acquire();
          try {
            const start = i * partSize;
            const etag = await this.store.uploadPartCopy(destKey, uploadId, i + 1, sourceKey, start, Math.min(size, start + partSize), opts);
            return { partNumber: i + 1, etag };
          } finally {
            release();
          }
        }),
      );
      await this.store.completeMultipartUpload(destKey, uploadId, parts, opts);
    } catch (err) {
      await this.store.abortMultipartUpload(destKey, uploadId, {}).catch(() => undefined);
      throw err;
    }
  }

  protected async _delete(path: string, opts: OpOptions): Promise<void> {
    // One listing finds both the file at `path` and everything below it (distribution does the same).
    const key = this.layout.key(path);
    const batch: string[] = [];
    let found = false;
    for await (const object of this.store.listKeys(key, opts)) {
      if (object.key !== key && !object.key.startsWith(`${key}/`)) continue;
      found = true;
      batch.push(object.key);
      if (batch.length === 1000) await this.store.deleteKeys(batch.splice(0), opts);
    }
    if (!found) throw new PathNotFoundError(this.name, path, { operation: 'delete' });
    if (batch.length > 0) await this.store.deleteKeys(batch, opts);
  }

  protected override async _redirectURL(path: string, opts: RedirectOptions): Promise<string | null> {
    const input = { Bucket: this.bucket, Key: this.layout.key(path) };
    const command = opts.method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
    return getSignedUrl(this.client, command, { expiresIn: opts.expiresIn ?? this.options.redirectExpirySeconds ?? DEFAULT_REDIRECT_EXPIRY_SECONDS });
  }

  protected override async _walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions): Promise<void> {
    await walkFlat(this.flatListing(), path, fn, opts);
  }

  protected async _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    return this.uploads.purge(olderThan, opts);
  }

  protected override _mapError(err: unknown, context: ErrorContext): Error | undefined {
    return mapS3Error(this.name, err, context);
  }

  private flatListing(): FlatListingSource {
    const { layout, store } = this;
    return {
      driverName: this.name,
      async *files(dir, startAfter, opts) {
        const startAfterKey = startAfter === undefined ? undefined : layout.key(startAfter);
        for await (const object of store.listKeys(layout.dirPrefix(dir), { ...opts, ...(startAfterKey ? { startAfter: startAfterKey } : {}) })) {
          const path = layout.pathOf(object.key);
          if (path !== undefined) yield { path, size: object.size, modTime: object.modTime, isDir: false };
        }
      },
    };
  }
}

function creationParams(options: S3DriverOptions): ObjectCreationParams {
  const params: ObjectCreationParams = {};
  const acl = options.objectAcl ?? 'private';
  if (acl.toLowerCase() !== 'none') params.ACL = acl as ObjectCreationParams['ACL'];
  const storageClass = options.storageClass ?? 'STANDARD';
  if (storageClass.toUpperCase() !== 'NONE') params.StorageClass = storageClass as ObjectCreationParams['StorageClass'];
  if (options.encrypt) {
    params.ServerSideEncryption = options.keyId ? 'aws:kms' : 'AES256';
    if (options.keyId) params.SSEKMSKeyId = options.keyId;
  }
  return params;
}

function emptyReadable(): Readable {
  return Readable.from([]);
}
