import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  InvalidParameterError,
  ObjectKeyLayout,
  ObjectStoreDriver,
  integerOption,
  readAll,
  type DriverCapabilities,
  type ErrorContext,
  type OpOptions,
  type RedirectOptions,
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
  DEFAULT_SILENCE_TIMEOUT_MS,
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
export class S3Driver extends ObjectStoreDriver {
  readonly name = DRIVER_NAME;
  /** Every URL is presigned with the driver's credentials. */
  override readonly supports: DriverCapabilities = Object.freeze({ redirect: true });
  /** @internal */
  declare protected readonly store: S3Store;
  /**
   * The SDK client the driver sends its requests with (built from the options, or the one given
   * as `client`): for what the driver does not do itself, such as creating the bucket.
   */
  readonly client: S3Client;
  readonly bucket: string;
  readonly chunkSize: number;

  constructor(readonly options: S3DriverOptions) {
    const settings = resolveSettings(options);
    const client = options.client ?? buildS3Client(options, settings.silenceTimeoutMs);
    super({
      driverName: DRIVER_NAME,
      store: new S3Store(client, options.bucket, creationParams(options)),
      layout: new ObjectKeyLayout(options.rootDirectory ?? ''),
      partSize: settings.chunkSize,
      concurrency: settings.concurrency,
      copyThresholdSize: settings.copyThresholdSize,
      copyChunkSize: settings.copyChunkSize,
      copyMaxConcurrency: settings.copyMaxConcurrency,
    });
    this.client = client;
    this.bucket = options.bucket;
    this.chunkSize = settings.chunkSize;
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
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.layout.key(path), ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) }),
        { abortSignal: opts.signal },
      );
      // The base maps the stream's errors and ties it to the signal.
      return out.Body as Readable;
    } catch (err) {
      // A range at or past the end: the object exists (else NoSuchKey), so the read is empty.
      if (offset > 0 && isS3InvalidRange(err)) return Readable.from([]);
      throw err;
    }
  }

  protected override async _redirectURL(path: string, opts: RedirectOptions): Promise<string | null> {
    const input = { Bucket: this.bucket, Key: this.layout.key(path) };
    const command = opts.method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
    return getSignedUrl(this.client, command, { expiresIn: opts.expiresIn ?? this.options.redirectExpirySeconds ?? DEFAULT_REDIRECT_EXPIRY_SECONDS });
  }

  protected override _mapError(err: unknown, context: ErrorContext): Error | undefined {
    return mapS3Error(this.name, err, context);
  }
}

/** The options checked (each rule lives here only; the factory parses config into options), with distribution's defaults. */
function resolveSettings(options: S3DriverOptions) {
  if (options === null || typeof options !== 'object') throw new InvalidParameterError(DRIVER_NAME, 'options', 'must be an object');
  for (const name of ['bucket', 'region'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new InvalidParameterError(DRIVER_NAME, name, 'must be a non-empty string');
  }
  if (Boolean(options.accessKey) !== Boolean(options.secretKey)) {
    throw new InvalidParameterError(DRIVER_NAME, options.accessKey ? 'secretKey' : 'accessKey', 'accessKey and secretKey go together');
  }
  if (options.encrypt !== true && options.keyId) throw new InvalidParameterError(DRIVER_NAME, 'keyId', 'needs encrypt: true');
  const redirectExpirySeconds = options.redirectExpirySeconds ?? DEFAULT_REDIRECT_EXPIRY_SECONDS;
  if (!(Number.isFinite(redirectExpirySeconds) && redirectExpirySeconds > 0)) {
    throw new InvalidParameterError(DRIVER_NAME, 'redirectExpirySeconds', 'must be a positive number of seconds');
  }
  return {
    chunkSize: integerOption(DRIVER_NAME, 'chunkSize', options.chunkSize, { default: DEFAULT_CHUNK_SIZE, min: MIN_CHUNK_SIZE }),
    concurrency: integerOption(DRIVER_NAME, 'multipartConcurrency', options.multipartConcurrency, { default: DEFAULT_MULTIPART_CONCURRENCY, min: 1 }),
    copyChunkSize: integerOption(DRIVER_NAME, 'multipartCopyChunkSize', options.multipartCopyChunkSize, {
      default: DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
      min: MIN_COPY_PART_SIZE,
      max: MAX_COPY_OBJECT_SIZE,
    }),
    copyMaxConcurrency: integerOption(DRIVER_NAME, 'multipartCopyMaxConcurrency', options.multipartCopyMaxConcurrency, {
      default: DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
      min: 1,
    }),
    // One CopyObject cannot copy more than 5 GiB.
    copyThresholdSize: integerOption(DRIVER_NAME, 'multipartCopyThresholdSize', options.multipartCopyThresholdSize, {
      default: DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
      min: 0,
      max: MAX_COPY_OBJECT_SIZE,
    }),
    silenceTimeoutMs: integerOption(DRIVER_NAME, 'silenceTimeoutMs', options.silenceTimeoutMs, { default: DEFAULT_SILENCE_TIMEOUT_MS, min: 1 }),
    redirectExpirySeconds,
  };
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
