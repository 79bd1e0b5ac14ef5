import { MiB } from '@stowage/core';
import type { S3Client } from '@aws-sdk/client-s3';

export const DRIVER_NAME = 's3';

/** distribution's s3-aws minimum and default part sizes. */
export const MIN_CHUNK_SIZE = 5 * MiB;
export const DEFAULT_CHUNK_SIZE = 10 * MiB;
export const DEFAULT_MULTIPART_COPY_CHUNK_SIZE = 32 * MiB;
export const DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY = 100;
export const DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE = 32 * MiB;
/** Parts one writer keeps in flight; memory is bounded by chunkSize x (this + 1). */
export const DEFAULT_MULTIPART_CONCURRENCY = 4;
/** Presigned URLs live 20 minutes unless asked otherwise, as in distribution. */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS = 20 * 60;
/** S3's largest single CopyObject is 5 GiB; above the threshold UploadPartCopy is used anyway. */
export const MAX_COPY_OBJECT_SIZE = 5 * 1024 * MiB;
export const MIN_COPY_PART_SIZE = 5 * MiB;
/** How long a request may wait in silence before it fails as transient and is retried; see silenceTimeoutMs. */
export const DEFAULT_SILENCE_TIMEOUT_MS = 120_000;

export interface S3DriverOptions {
  bucket: string;
  region: string;
  /** A custom endpoint (MinIO, Ceph RGW, R2, Swift s3api): distribution's `regionendpoint`. */
  regionEndpoint?: string;
  forcePathStyle?: boolean;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  rootDirectory?: string;
  /** Server-side encryption: AES256, or aws:kms with `keyId`. */
  encrypt?: boolean;
  keyId?: string;
  /** https (default) or http when no endpoint is given. */
  secure?: boolean;
  /** Do not verify the server's TLS certificate. */
  skipVerify?: boolean;
  chunkSize?: number;
  multipartConcurrency?: number;
  multipartCopyChunkSize?: number;
  multipartCopyMaxConcurrency?: number;
  multipartCopyThresholdSize?: number;
  /** STANDARD (default), REDUCED_REDUNDANCY, ...; NONE sends no storage class (for S3 clones). */
  storageClass?: string;
  /** A canned ACL (private by default); `none` sends no ACL (for stores that reject ACLs). */
  objectAcl?: string;
  userAgent?: string;
  useDualStack?: boolean;
  accelerate?: boolean;
  /** The SDK's retry attempts (default 5, with backoff on SlowDown, 5xx and resets). */
  maxAttempts?: number;
  /**
   * How long, in milliseconds, a request may wait in silence before it fails as transient and the
   * SDK retries it: for the connection (at most 10 s whatever this says), for the answer's headers,
   * and between two pieces of its body (a reader's stream too). Not a deadline for the whole
   * request: a long transfer that keeps moving is never cut. Default 120 000 (120 s); at least 1.
   * Ignored when `client` is given.
   */
  silenceTimeoutMs?: number;
  /** Log the SDK's requests: `debug` / `info` (distribution's `loglevel` names are accepted too). */
  logLevel?: string;
  /** Lifetime of presigned redirect URLs when the caller gives none; default 20 minutes. */
  redirectExpirySeconds?: number;
  /** Use this client instead of building one; the options above then only shape requests. */
  client?: S3Client;
}
