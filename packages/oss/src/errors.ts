/**
 * Recognising ali-oss errors. ali-oss turns OSS's XML error into an Error with `code` (NoSuchKey,
 * NoSuchUpload, ...) and `status` (the HTTP status; -1 for a network failure, -2 for a timeout).
 * A HEAD has no body: a 404 arrives as code NoSuchKey, other statuses as UnknownError unless OSS
 * sent its x-oss-err header.
 */
import { PathNotFoundError, StorageDriverError, type ErrorContext } from '@stowage/core';

interface OssErrorShape {
  name?: unknown;
  code?: unknown;
  status?: unknown;
}

function shape(err: unknown): OssErrorShape {
  return typeof err === 'object' && err !== null ? err : {};
}

export function ossErrorCode(err: unknown): string | undefined {
  const { code } = shape(err);
  return typeof code === 'string' ? code : undefined;
}

export function ossStatus(err: unknown): number | undefined {
  const { status } = shape(err);
  return typeof status === 'number' ? status : undefined;
}

/** A missing object. A missing bucket (NoSuchBucket, also a 404) is a configuration error, not a missing path. */
export function isOssNotFound(err: unknown): boolean {
  const code = ossErrorCode(err);
  return code === 'NoSuchKey' || (ossStatus(err) === 404 && code !== 'NoSuchBucket' && code !== 'NoSuchUpload');
}

export function isOssNoSuchUpload(err: unknown): boolean {
  return ossErrorCode(err) === 'NoSuchUpload';
}

/** A Range that starts at or past the end of the object (only with `x-oss-range-behavior: standard`). */
export function isOssInvalidRange(err: unknown): boolean {
  return ossErrorCode(err) === 'InvalidRange' || ossStatus(err) === 416;
}

const TRANSIENT_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'SlowDown',
  'Throttling',
  'ConnectionTimeoutError',
  'ResponseTimeoutError',
  'SocketAssignTimeoutError',
]);
const TRANSIENT_NAMES = new Set(['ConnectionTimeoutError', 'ResponseTimeoutError', 'SocketAssignTimeoutError', 'RequestError', 'ResponseError']);

/**
 * Whether repeating the request may succeed: network failures and timeouts (ali-oss status -1/-2),
 * 5xx, throttling (429, 503 SlowDown). Client errors (4xx) are final.
 */
export function isTransientOssError(err: unknown): boolean {
  const status = ossStatus(err);
  if (status === -1 || status === -2) return true;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const code = ossErrorCode(err);
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  const { name } = shape(err);
  if (status === undefined && typeof name === 'string' && TRANSIENT_NAMES.has(name)) return true;
  const errno = code ?? '';
  return status === undefined && ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN', 'ENOTFOUND'].includes(errno);
}

/**
 * The typed error for an OSS failure: PathNotFoundError for a missing object or upload, a
 * StorageDriverError marked transient for what may pass (see isTransientOssError), or undefined
 * to let the base wrap it as a plain StorageDriverError.
 */
export function mapOssError(driverName: string, err: unknown, context: ErrorContext): Error | undefined {
  // NoSuchUpload: the staged upload was purged or committed by someone else meanwhile.
  if (context.path !== undefined && (isOssNotFound(err) || isOssNoSuchUpload(err))) {
    return new PathNotFoundError(driverName, context.path, { operation: context.operation, cause: err });
  }
  if (isTransientOssError(err)) return new StorageDriverError(driverName, err, { ...context, transient: true });
  return undefined;
}
