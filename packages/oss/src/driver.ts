import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import {
  InvalidParameterError,
  ObjectKeyLayout,
  ObjectStoreDriver,
  integerOption,
  type StagedUploads,
  type DriverCapabilities,
  type ErrorContext,
  type OpOptions,
  type RedirectOptions,
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
  DEFAULT_SILENCE_TIMEOUT_MS,
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
 * The parts of an OssDriver that are not its API, for this repository's tests (exported from
 * `@stowage/oss/internal` only; may change in any release).
 * @internal
 */
export interface OssDriverInternals {
  client: OssClient;
  store: OssStore;
  uploads: StagedUploads;
}

let internalsOf: (driver: OssDriver) => OssDriverInternals;

/**
 * The ali-oss client, store and staged uploads of `driver`, for tests only.
 * @internal
 */
export function ossDriverInternals(driver: OssDriver): OssDriverInternals {
  return internalsOf(driver);
}

/**
 * A StorageDriver over Aliyun OSS with ali-oss. Object names are distribution's oss driver's
 * (rootdirectory + path, leading slash trimmed), so either can read what the other wrote.
 * Unfinished uploads are staged by core's StagedUploads under `<root>/.stowage~uploads/`.
 */
export class OssDriver extends ObjectStoreDriver {
  readonly name = DRIVER_NAME;
  /** Every URL is signed with the driver's credentials. */
  override readonly supports: DriverCapabilities = Object.freeze({ redirect: true });
  static {
    internalsOf = (driver) => ({ client: driver.client, store: driver.store, uploads: driver.uploads });
  }

  /** @internal */
  declare protected readonly store: OssStore;
  readonly bucket: string;
  private readonly client: OssClient;
  readonly chunkSize: number;
  readonly authorizationVersion: AuthorizationVersion;
  private readonly redirectExpirySeconds: number;
  private readonly encrypted: boolean;

  constructor(readonly options: OssDriverOptions) {
    const settings = resolveSettings(options);
    const client = buildOssClient({
      accessKeyId: options.accessKeyId,
      accessKeySecret: options.accessKeySecret,
      ...(options.stsToken ? { stsToken: options.stsToken } : {}),
      ...(options.refreshSTSToken ? { refreshSTSToken: options.refreshSTSToken } : {}),
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      internal: options.internal ?? false,
      secure: options.secure ?? true,
      bucket: options.bucket,
      authorizationV4: settings.authorizationVersion === 'v4',
      pathStyle: options.pathStyle ?? false,
      cname: options.cname ?? false,
      timeoutMs: settings.timeoutMs,
    });
    super({
      driverName: DRIVER_NAME,
      store: new OssStore(client, {
        driverName: DRIVER_NAME,
        bucket: options.bucket,
        creationHeaders: encryptionHeaders(options),
        maxRetries: settings.maxRetries,
        silenceTimeoutMs: settings.silenceTimeoutMs,
      }),
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
    this.authorizationVersion = settings.authorizationVersion;
    this.redirectExpirySeconds = settings.redirectExpirySeconds;
    this.encrypted = options.encrypt === true;
  }

  // ---- reads ----

  protected async _reader(path: string, offset: number, opts: OpOptions): Promise<Readable> {
    return this.store.readFrom(this.layout.key(path), offset, opts);
  }

  /** One retried read (the store's), rather than core's reader-and-read, so that a body gone silent is read again. */
  protected override async _getContent(path: string, opts: OpOptions): Promise<Buffer> {
    return this.store.getContent(this.layout.key(path), opts);
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

  protected override async copyForMove(sourceKey: string, destKey: string, size: number, opts: OpOptions): Promise<void> {
    if (size === 0) {
      await this.store.put(destKey, Buffer.alloc(0), opts);
    } else if (size <= this.copyThresholdSize && !this.encrypted) {
      await this.store.copyObject(destKey, sourceKey, opts);
    } else {
      // ali-oss's copy() sends every header it is given as x-oss-copy-source-*, so it cannot carry
      // the encryption headers: encrypted moves take the multipart path at every size.
      await this.multipartCopy(sourceKey, destKey, size, opts);
    }
  }

  protected override _mapError(err: unknown, context: ErrorContext): Error | undefined {
    return mapOssError(this.name, err, context);
  }
}

/** The options checked (each rule lives here only; the factory parses config into options), with the defaults. */
function resolveSettings(options: OssDriverOptions) {
  if (options === null || typeof options !== 'object') throw new InvalidParameterError(DRIVER_NAME, 'options', 'must be an object');
  if (typeof (options.rootDirectory ?? '') !== 'string') throw new InvalidParameterError(DRIVER_NAME, 'rootDirectory', 'must be a string');
  for (const name of ['accessKeyId', 'accessKeySecret', 'region', 'bucket'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new InvalidParameterError(DRIVER_NAME, name, 'must be a non-empty string');
  }
  // ali-oss's own checks throw untyped errors: the same rules, as typed ones.
  if (!/^[a-z0-9_][a-z0-9_-]{1,61}[a-z0-9_]$/.test(options.bucket)) {
    throw new InvalidParameterError(DRIVER_NAME, 'bucket', `must be 3 to 63 lowercase letters, digits and hyphens, got ${JSON.stringify(options.bucket)}`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(options.region))
    throw new InvalidParameterError(DRIVER_NAME, 'region', `is not a region name: ${JSON.stringify(options.region)}`);
  const chunkSize = integerOption(DRIVER_NAME, 'chunkSize', options.chunkSize, { default: DEFAULT_CHUNK_SIZE, min: MIN_CHUNK_SIZE, max: MAX_PART_SIZE });
  const copyThresholdSize = integerOption(DRIVER_NAME, 'multipartCopyThresholdSize', options.multipartCopyThresholdSize, {
    default: DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
    min: 0,
    max: MAX_COPY_OBJECT_SIZE,
  });
  const copyChunkSize = integerOption(DRIVER_NAME, 'multipartCopyChunkSize', options.multipartCopyChunkSize, {
    default: DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
    min: MIN_CHUNK_SIZE,
    max: MAX_PART_SIZE,
  });
  const copyMaxConcurrency = integerOption(DRIVER_NAME, 'multipartCopyMaxConcurrency', options.multipartCopyMaxConcurrency, {
    default: DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
    min: 1,
  });
  const concurrency = integerOption(DRIVER_NAME, 'multipartConcurrency', options.multipartConcurrency, { default: DEFAULT_MULTIPART_CONCURRENCY, min: 1 });
  const maxRetries = integerOption(DRIVER_NAME, 'maxRetries', options.maxRetries, { default: DEFAULT_MAX_RETRIES, min: 0 });
  const timeoutMs = integerOption(DRIVER_NAME, 'timeoutMs', options.timeoutMs, { default: DEFAULT_TIMEOUT_MS, min: 1 });
  const silenceTimeoutMs = integerOption(DRIVER_NAME, 'silenceTimeoutMs', options.silenceTimeoutMs, { default: DEFAULT_SILENCE_TIMEOUT_MS, min: 1 });
  const redirectExpirySeconds = options.redirectExpirySeconds ?? DEFAULT_REDIRECT_EXPIRY_SECONDS;
  if (!(Number.isFinite(redirectExpirySeconds) && redirectExpirySeconds > 0)) {
    throw new InvalidParameterError(DRIVER_NAME, 'redirectExpirySeconds', 'must be a positive number of seconds');
  }
  const authorizationVersion: AuthorizationVersion = options.authorizationVersion ?? 'v1';
  if (authorizationVersion !== 'v1' && authorizationVersion !== 'v4') {
    throw new InvalidParameterError(DRIVER_NAME, 'authorizationVersion', `must be v1 or v4, got ${JSON.stringify(authorizationVersion)}`);
  }
  if (options.encryptionKeyId && !options.encrypt) throw new InvalidParameterError(DRIVER_NAME, 'encryptionKeyId', 'needs encrypt: true');
  if (options.endpoint !== undefined && !/^[A-Za-z0-9._:/[\]-]+$/.test(options.endpoint)) {
    throw new InvalidParameterError(DRIVER_NAME, 'endpoint', `is not a host name or URL: ${JSON.stringify(options.endpoint)}`);
  }
  if (options.endpoint && isIP(endpointHost(options.endpoint))) {
    // ali-oss then sends `Host: <bucket>.<region>.aliyuncs.com` and refuses to sign URLs.
    throw new InvalidParameterError(DRIVER_NAME, 'endpoint', `must be a host name, not an IP address (${options.endpoint}); use e.g. localhost with pathStyle`);
  }
  return {
    chunkSize,
    copyThresholdSize,
    copyChunkSize,
    copyMaxConcurrency,
    concurrency,
    maxRetries,
    timeoutMs,
    silenceTimeoutMs,
    redirectExpirySeconds,
    authorizationVersion,
  };
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
