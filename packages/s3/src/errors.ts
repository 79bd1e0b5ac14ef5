/** Recognising S3 errors by code, whichever SDK class or S3 clone produced them. */
import { PathNotFoundError, StorageDriverError, isTransientHttpStatus, isTransientNetworkError, type ErrorContext } from '@stowage/core';

interface S3ErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  /** Set by the SDK on errors its own retry strategy treats as retryable (throttling, transient). */
  $retryable?: unknown;
}

function shape(err: unknown): S3ErrorShape {
  return typeof err === 'object' && err !== null ? err : {};
}

function s3ErrorCode(err: unknown): string | undefined {
  const e = shape(err);
  return e.Code ?? e.name;
}

function s3HttpStatus(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

/** A missing key: NoSuchKey from GET, a bare 404 (`NotFound`) from HEAD. A missing bucket is not. */
export function isS3NotFound(err: unknown): boolean {
  const code = s3ErrorCode(err);
  if (code === 'NoSuchBucket') return false;
  return code === 'NoSuchKey' || code === 'NotFound' || s3HttpStatus(err) === 404;
}

export function isS3NoSuchUpload(err: unknown): boolean {
  return s3ErrorCode(err) === 'NoSuchUpload' || (s3HttpStatus(err) === 404 && s3ErrorCode(err) !== 'NoSuchBucket');
}

/** A Range starting at or past the end of the object. */
export function isS3InvalidRange(err: unknown): boolean {
  return s3ErrorCode(err) === 'InvalidRange' || s3HttpStatus(err) === 416;
}

/** S3's (and its clones') codes for "busy, try again": throttling, internal errors, timeouts. */
const TRANSIENT_S3_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'ProvisionedThroughputExceededException',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'PriorRequestNotComplete',
  'TimeoutError',
]);

/**
 * Whether trying the same request again may succeed: a transient status (5xx, 429, 408), one of
 * S3's throttling or internal-error codes, an error the SDK marks `$retryable`, or a network
 * failure (reset, refused, timeout) that never got an answer.
 */
function isS3Transient(err: unknown): boolean {
  const e = shape(err);
  if (isTransientHttpStatus(s3HttpStatus(err))) return true;
  const code = s3ErrorCode(err);
  if (code !== undefined && TRANSIENT_S3_CODES.has(code)) return true;
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return true;
  return isTransientNetworkError(err);
}

/**
 * The typed error for an S3 failure: PathNotFoundError for a missing key, a StorageDriverError
 * marked transient for what may pass (see isS3Transient), or undefined to let the base wrap it as
 * a plain StorageDriverError.
 */
export function mapS3Error(driverName: string, err: unknown, context: ErrorContext): Error | undefined {
  if (context.path !== undefined && isS3NotFound(err)) {
    return new PathNotFoundError(driverName, context.path, { operation: context.operation, cause: err });
  }
  if (isS3Transient(err)) return new StorageDriverError(driverName, err, { ...context, transient: true });
  return undefined;
}
