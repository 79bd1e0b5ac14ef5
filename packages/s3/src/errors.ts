/** Recognising S3 errors by code, whichever SDK class or S3 clone produced them. */
import { PathNotFoundError, type ErrorContext } from '@stowage/core';

interface S3ErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
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

/** The typed error for an S3 failure, or undefined to let the base wrap it as StorageDriverError. */
export function mapS3Error(driverName: string, err: unknown, context: ErrorContext): Error | undefined {
  if (context.path !== undefined && isS3NotFound(err)) {
    return new PathNotFoundError(driverName, context.path, { operation: context.operation, cause: err });
  }
  return undefined;
}
