import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import {
  BaseStorageDriver,
  InvalidParameterError,
  ObjectKeyLayout,
  OperationAbortedError,
  PathNotFoundError,
  ROOT,
  Semaphore,
  StagedUploads,
  compareNames,
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
import { buildOssClient, type OssClient } from './client';
import { mapOssError } from './errors';
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MULTIPART_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
  DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_TIMEOUT_MS,
  DRIVER_NAME,
  MAX_COPY_OBJECT_SIZE,
  MAX_PART_SIZE,
  MIN_CHUNK_SIZE,
  type AuthorizationVersion,
  type OssDriverOptions,
} from './options';
import { OssStore } from './store';

/**
 * A StorageDriver over Aliyun OSS with ali-oss. Object names are distribution's oss driver's
 * (rootdirectory + path, leading slash trimmed), so either can read what the other wrote.
 * Unfinished uploads are staged by core's StagedUploads under `<root>/.stowage~uploads/`.
 */
export class OssDriver extends BaseStorageDriver {
  readonly name = DRIVER_NAME;
  readonly bucket: string;
  readonly client: OssClient;
  readonly layout: ObjectKeyLayout;
  readonly store: OssStore;
  readonly uploads: StagedUploads;
  readonly chunkSize: number;
  readonly authorizationVersion: AuthorizationVersion;
  private readonly copyThresholdSize: number;
  private readonly copyChunkSize: number;
  private readonly copyMaxConcurrency: number;
  private readonly redirectExpirySeconds: number;
  private readonly encrypted: boolean;

  constructor(readonly options: OssDriverOptions) {
    super();
    for (const name of ['accessKeyId', 'accessKeySecret', 'region', 'bucket'] as const) {
      if (typeof options[name] !== 'string' || options[name] === '') throw new InvalidParameterError(DRIVER_NAME, name, 'must be a non-empty string');
    }
    // ali-oss's own checks throw untyped errors: the same rules, as typed ones.
    if (!/^[a-z0-9_][a-z0-9_-]{1,61}[a-z0-9_]$/.test(options.bucket)) {
      throw new InvalidParameterError(DRIVER_NAME, 'bucket', `must be 3 to 63 lowercase letters, digits and hyphens, got ${JSON.stringify(options.bucket)}`);
    }
    if (!/^[A-Za-z0-9_-]+$/.test(options.region)) throw new InvalidParameterError(DRIVER_NAME, 'region', `is not a region name: ${JSON.stringify(options.region)}`);
    this.bucket = options.bucket;
    this.chunkSize = integerOption('chunksize', options.chunksize, DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, MAX_PART_SIZE);
    this.copyThresholdSize = integerOption('multipartCopyThresholdSize', options.multipartCopyThresholdSize, DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE, 0, MAX_COPY_OBJECT_SIZE);
    this.copyChunkSize = integerOption('multipartCopyChunkSize', options.multipartCopyChunkSize, DEFAULT_MULTIPART_COPY_CHUNK_SIZE, MIN_CHUNK_SIZE, MAX_PART_SIZE);
    this.copyMaxConcurrency = integerOption('multipartCopyMaxConcurrency', options.multipartCopyMaxConcurrency, DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY, 1);
    const concurrency = integerOption('multipartConcurrency', options.multipartConcurrency, DEFAULT_MULTIPART_CONCURRENCY, 1);
    const maxRetries = integerOption('maxRetries', options.maxRetries, DEFAULT_MAX_RETRIES, 0);
    const timeoutMs = integerOption('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
    this.redirectExpirySeconds = options.redirectExpirySeconds ?? DEFAULT_REDIRECT_EXPIRY_SECONDS;
    if (!(Number.isFinite(this.redirectExpirySeconds) && this.redirectExpirySeconds > 0)) {
      throw new InvalidParameterError(DRIVER_NAME, 'redirectExpirySeconds', 'must be a positive number of seconds');
    }
    this.authorizationVersion = options.authorizationVersion ?? 'v1';
    if (this.authorizationVersion !== 'v1' && this.authorizationVersion !== 'v4') {
      throw new InvalidParameterError(DRIVER_NAME, 'authorizationVersion', `must be v1 or v4, got ${JSON.stringify(this.authorizationVersion)}`);
    }
    if (options.encryptionKeyId && !options.encrypt) throw new InvalidParameterError(DRIVER_NAME, 'encryptionKeyId', 'needs encrypt: true');
    if (options.endpoint !== undefined && !/^[A-Za-z0-9._:/[\]-]+$/.test(options.endpoint)) {
      throw new InvalidParameterError(DRIVER_NAME, 'endpoint', `is not a host name or URL: ${JSON.stringify(options.endpoint)}`);
    }
    if (options.endpoint && isIP(endpointHost(options.endpoint))) {
      // ali-oss then sends `Host: <bucket>.<region>.aliyuncs.com` and refuses to sign URLs.
      throw new InvalidParameterError(DRIVER_NAME, 'endpoint', `must be a host name, not an IP address (${options.endpoint}); use e.g. localhost with pathStyle`);
    }
    this.encrypted = options.encrypt === true;

    this.client = buildOssClient({
      accessKeyId: options.accessKeyId,
      accessKeySecret: options.accessKeySecret,
      ...(options.stsToken ? { stsToken: options.stsToken } : {}),
      ...(options.refreshSTSToken ? { refreshSTSToken: options.refreshSTSToken } : {}),
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      internal: options.internal ?? false,
      secure: options.secure ?? true,
      bucket: options.bucket,
      authorizationV4: this.authorizationVersion === 'v4',
      pathStyle: options.pathStyle ?? false,
      cname: options.cname ?? false,
      timeoutMs,
    });
    this.layout = new ObjectKeyLayout(options.rootdirectory ?? '');
    this.store = new OssStore(this.client, { driverName: DRIVER_NAME, bucket: this.bucket, creationHeaders: encryptionHeaders(options), maxRetries });
    this.uploads = new StagedUploads(DRIVER_NAME, this.store, this.layout, { partSize: this.chunkSize, concurrency });
  }

  /** Staged-upload keys of `path` and the paths below it (the conformance suite's leftovers hook). */
  leftovers(path: string): Promise<string[]> {
    return this.uploads.leftovers(path);
  }

  // ---- reads ----

  protected override async _getContent(path: string, opts: OpOptions): Promise<Buffer> {
    const stream = await this.store.readFrom(this.layout.key(path), 0, opts);
    return readAllAbortable(stream, opts.signal, () => new OperationAbortedError(this.name, { operation: 'getContent', path, cause: opts.signal?.reason }));
  }

  protected async _reader(path: string, offset: number, opts: OpOptions): Promise<Readable> {
    return this.store.readFrom(this.layout.key(path), offset, opts);
  }

  protected async _stat(path: string, opts: OpOptions): Promise<FileInfo> {
    // The root is a directory even in an empty bucket.
    if (path === ROOT) return { path, size: 0, modTime: new Date(0), isDir: true };
    const file = await this.store.head(this.layout.key(path), opts);
    if (file) return { path, size: file.size, modTime: file.modTime, isDir: false };
    // Not an object: a directory while any key lies below it.
    const { objects } = await this.store.listPage(this.layout.dirPrefix(path), { ...opts, maxKeys: 1 });
    const first = objects[0];
    if (first) return { path, size: 0, modTime: first.modTime, isDir: true };
    throw new PathNotFoundError(this.name, path, { operation: 'stat' });
  }

  protected async _list(path: string, opts: OpOptions): Promise<string[]> {
    const children: string[] = [];
    let anything = false;
    for await (const page of this.store.listPages(this.layout.dirPrefix(path), { ...opts, delimiter: '/' })) {
      for (const key of [...page.objects.map((o) => o.key), ...page.prefixes.map((p) => p.slice(0, -1))]) {
        anything = true;
        // The staged-upload namespace and foreign keys with invalid names are not part of the tree.
        const child = this.layout.pathOf(key);
        if (child !== undefined) children.push(child);
      }
    }
    if (!anything && path !== ROOT) throw new PathNotFoundError(this.name, path, { operation: 'list' });
    return children.sort(compareNames);
  }

  protected override async _walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions): Promise<void> {
    await walkFlat(this.flatListing(), path, fn, opts);
  }

  protected override async _redirectURL(path: string, opts: RedirectOptions): Promise<string | null> {
    const key = this.layout.key(path);
    const method = opts.method ?? 'GET';
    const expires = Math.ceil(opts.expiresIn ?? this.redirectExpirySeconds);
    if (this.authorizationVersion === 'v4') return this.client.signatureUrlV4(method, expires, undefined, key);
    return this.client.signatureUrl(key, { method, expires });
  }

  // ---- writes ----

  protected override async _putContent(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    // One PutObject up to OSS's 5 GiB limit; beyond it, the multipart writer.
    if (content.length > MAX_PART_SIZE) return super._putContent(path, content, opts);
    await this.store.put(this.layout.key(path), content, opts);
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    return this.uploads.open(path, append, opts, (size) => this.writerInit(path, size, opts));
  }

  protected async _move(sourcePath: string, destPath: string, opts: OpOptions): Promise<void> {
    const sourceKey = this.layout.key(sourcePath);
    const source = await this.store.head(sourceKey, opts);
    if (!source) throw new PathNotFoundError(this.name, sourcePath, { operation: 'move' });
    if (sourcePath === destPath) return;
    const destKey = this.layout.key(destPath);
    if (source.size === 0) {
      await this.store.put(destKey, Buffer.alloc(0), opts);
    } else if (source.size <= this.copyThresholdSize && !this.encrypted) {
      // ali-oss's copy() sends every header it is given as x-oss-copy-source-*, so it cannot carry
      // the encryption headers: encrypted moves take the multipart path at every size.
      await this.store.copyObject(destKey, sourceKey, opts);
    } else {
      await this.multipartCopy(sourceKey, destKey, source.size, opts);
    }
    await this.store.deleteKeys([sourceKey], opts);
  }

  /** UploadPartCopy in parts of `multipartCopyChunkSize`, `multipartCopyMaxConcurrency` at a time. */
  private async multipartCopy(sourceKey: string, destKey: string, size: number, opts: OpOptions): Promise<void> {
    const partSize = Math.max(this.copyChunkSize, Math.ceil(size / this.store.maxParts));
    const count = Math.ceil(size / partSize);
    const uploadId = await this.store.createMultipartUpload(destKey, opts);
    try {
      const slots = new Semaphore(this.copyMaxConcurrency);
      const parts = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          slots.run(async () => {
            const start = i * partSize;
            const etag = await this.store.uploadPartCopy(destKey, uploadId, i + 1, sourceKey, start, Math.min(size, start + partSize), opts);
            return { partNumber: i + 1, etag };
          }),
        ),
      );
      await this.store.completeMultipartUpload(destKey, uploadId, parts, opts);
    } catch (err) {
      // Without the caller's signal: the abort must happen even when the signal is what failed us.
      await this.store.abortMultipartUpload(destKey, uploadId, {}).catch(() => undefined);
      throw err;
    }
  }

  protected async _delete(path: string, opts: OpOptions): Promise<void> {
    const key = this.layout.key(path);
    // The file at `path` (if any) and, listed page by page, everything below it.
    const file = this.store.head(key, opts);
    file.catch(() => undefined);
    let found = false;
    for await (const page of this.store.listPages(this.layout.dirPrefix(path), opts)) {
      if (page.objects.length === 0) continue;
      found = true;
      await this.store.deleteKeys(
        page.objects.map((o) => o.key),
        opts,
      );
    }
    if (await file) {
      found = true;
      await this.store.deleteKeys([key], opts);
    }
    if (!found) throw new PathNotFoundError(this.name, path, { operation: 'delete' });
  }

  protected async _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    return this.uploads.purge(olderThan, opts);
  }

  protected override _mapError(err: unknown, context: ErrorContext): Error | undefined {
    return mapOssError(this.name, err, context);
  }

  /** Flat listings for walkFlat: every file below a directory, in key order, hidden keys left out. */
  private flatListing(): FlatListingSource {
    const { layout, store } = this;
    // Everything in the staged-upload namespace sorts before this key, and no valid path after it does.
    const pastUploads = `${layout.uploadsPrefix.slice(0, -1)}0`;
    return {
      driverName: this.name,
      async *files(dir, startAfter, opts) {
        let after = startAfter === undefined ? undefined : layout.key(startAfter);
        for (;;) {
          let skipTo: string | undefined;
          for await (const object of store.listKeys(layout.dirPrefix(dir), { ...opts, ...(after === undefined ? {} : { startAfter: after }) })) {
            if (object.key.startsWith(layout.uploadsPrefix)) {
              // Staged uploads can be many: jump over the whole namespace instead of paging through it.
              skipTo = pastUploads;
              break;
            }
            const path = layout.pathOf(object.key);
            if (path !== undefined) yield { path, size: object.size, modTime: object.modTime, isDir: false };
          }
          if (skipTo === undefined) return;
          after = skipTo;
        }
      },
    };
  }
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < min || chosen > max) {
    throw new InvalidParameterError(DRIVER_NAME, name, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return chosen;
}

function endpointHost(endpoint: string): string {
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`);
    return url.hostname.replace(/^\[|\]$/g, '');
  } catch {
    throw new InvalidParameterError(DRIVER_NAME, 'endpoint', `is not a host name or URL: ${JSON.stringify(endpoint)}`);
  }
}

/** distribution's oss driver: AES256, or KMS when a key id is given. */
export function encryptionHeaders(options: Pick<OssDriverOptions, 'encrypt' | 'encryptionKeyId'>): Record<string, string> {
  if (!options.encrypt) return {};
  if (options.encryptionKeyId) return { 'x-oss-server-side-encryption': 'KMS', 'x-oss-server-side-encryption-key-id': options.encryptionKeyId };
  return { 'x-oss-server-side-encryption': 'AES256' };
}

/** readAll that gives up (and destroys the stream) when the signal fires. */
async function readAllAbortable(stream: Readable, signal: AbortSignal | undefined, abortError: () => Error): Promise<Buffer> {
  if (!signal) return readAll(stream);
  const onAbort = () => stream.destroy(abortError());
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await readAll(stream);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
