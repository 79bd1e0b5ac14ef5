import { GiB, KiB, MiB } from '@stowage/core';

export const DRIVER_NAME = 'oss';

/** OSS accepts non-final parts down to 100 KiB (distribution itself insists on 5 MiB). */
export const MIN_CHUNK_SIZE = 100 * KiB;
/** distribution's oss default part size. */
export const DEFAULT_CHUNK_SIZE = 10 * MiB;
/** OSS's largest part (and largest PutObject). */
export const MAX_PART_SIZE = 5 * GiB;
export const MAX_PARTS = 10_000;
/** Parts one writer keeps in flight; its memory is bounded by chunkSize x (this + 1). */
export const DEFAULT_MULTIPART_CONCURRENCY = 4;
/** Below this a move is one CopyObject; above, parallel UploadPartCopy. */
export const DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE = 32 * MiB;
export const DEFAULT_MULTIPART_COPY_CHUNK_SIZE = 32 * MiB;
export const DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY = 16;
/** CopyObject handles objects up to 1 GB on OSS; larger ones must go through UploadPartCopy. */
export const MAX_COPY_OBJECT_SIZE = 1000 * 1000 * 1000;
/** Signed redirect URLs live 20 minutes unless asked otherwise, as in distribution. */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS = 20 * 60;
/** Retries of a failed request that can safely be repeated (network errors, 5xx, throttling). */
export const DEFAULT_MAX_RETRIES = 3;
/** ali-oss's per-request timeout: connect, send the body and receive the response (not a reader's stream). */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** How long a response body may stay silent before the read fails as transient and is retried; see silenceTimeoutMs. */
export const DEFAULT_SILENCE_TIMEOUT_MS = 120_000;

export type AuthorizationVersion = 'v1' | 'v4';

export interface OssCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  stsToken: string;
}

export interface OssDriverOptions {
  accessKeyId: string;
  accessKeySecret: string;
  /** A temporary (STS) credential's security token, sent as x-oss-security-token. */
  stsToken?: string;
  /** Called by ali-oss to renew an STS credential before it expires (programmatic use only). */
  refreshSTSToken?: () => Promise<OssCredentials>;
  /** e.g. `oss-cn-hangzhou`; also the V4 signing region. */
  region: string;
  /** A custom endpoint host (or URL, e.g. `http://localhost:9000`); default `<region>[-internal].aliyuncs.com`. */
  endpoint?: string;
  /** Use the region's internal (intranet) endpoint. */
  internal?: boolean;
  /** https (default) or http, when the endpoint does not say. */
  secure?: boolean;
  bucket: string;
  /** Prepended to every key (distribution's `rootdirectory`). */
  rootDirectory?: string;
  /** Size of every non-final part of an upload; default 10 MiB, at least 100 KiB. */
  chunkSize?: number;
  /** Server-side encryption of everything the driver writes: AES256, or KMS with `encryptionKeyId`. */
  encrypt?: boolean;
  encryptionKeyId?: string;
  /** Request signing: OSS V1 (HMAC-SHA1, distribution's) or V4 (HMAC-SHA256). Default v1. */
  authorizationVersion?: AuthorizationVersion;
  /** Put the bucket in the path (`endpoint/bucket/key`) instead of the host name (ali-oss `sldEnable`). */
  pathStyle?: boolean;
  /** The endpoint is a custom domain bound to the bucket (ali-oss `cname`). */
  cname?: boolean;
  multipartConcurrency?: number;
  multipartCopyThresholdSize?: number;
  multipartCopyChunkSize?: number;
  multipartCopyMaxConcurrency?: number;
  maxRetries?: number;
  /** ali-oss's per-request deadline in milliseconds: connect, send the body, receive the answer (a streamed answer's headers). Default 60 000. */
  timeoutMs?: number;
  /**
   * How long, in milliseconds, a streamed response body (a reader's stream, and what getContent
   * reads) may stay silent before the read fails as transient and is retried (getContent by the
   * driver; a reader's consumer sees the error): the wait between two pieces of the body, counted
   * only while the stream wants data, so a consumer that stops reading is never cut. Not a deadline
   * for the whole transfer; the wait for the connection and the headers is `timeoutMs`'s. Default
   * 120 000 (120 s); at least 1.
   */
  silenceTimeoutMs?: number;
  /** Lifetime of signed redirect URLs when the caller gives none; default 20 minutes. */
  redirectExpirySeconds?: number;
}
