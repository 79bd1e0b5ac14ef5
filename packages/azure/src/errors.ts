/**
 * Reading the Azure SDK's errors (RestError: `statusCode`, and the service's error code in
 * `code` or `details.errorCode`) and turning the ones with a meaning of their own into typed
 * errors. Everything else becomes a StorageDriverError (by BaseStorageDriver) keeping the
 * original as `cause`.
 */
import {
  InvalidParameterError,
  PathNotFoundError,
  StorageDriverError,
  isAborted,
  isStowageError,
  isTransient,
  isTransientHttpStatus,
  isTransientNetworkError,
  type ErrorContext,
} from '@stowage/core';
import { DRIVER_NAME } from './options';

export function statusOf(err: unknown): number | undefined {
  const status = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

/** The service's error code (BlobNotFound, InvalidBlockList, ...), if the error carries one. */
export function azureCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const details = (err as { details?: { errorCode?: unknown } }).details;
  return typeof details?.errorCode === 'string' ? details.errorCode : undefined;
}

const NOT_FOUND_CODES = new Set(['BlobNotFound', 'ContainerNotFound', 'ResourceNotFound']);

/** The blob (or its container) does not exist. A HEAD has no body, so a bare 404 counts too. */
export function isNotFound(err: unknown): boolean {
  const code = azureCodeOf(err);
  return code !== undefined ? NOT_FOUND_CODES.has(code) : statusOf(err) === 404;
}

export function isContainerNotFound(err: unknown): boolean {
  return azureCodeOf(err) === 'ContainerNotFound';
}

/** A conditional request (If-Match, ...) found the blob changed. */
export function isConditionFailed(err: unknown): boolean {
  return statusOf(err) === 412;
}

/** Get Blob past the end of the content. */
export function isInvalidRange(err: unknown): boolean {
  return statusOf(err) === 416;
}

/** The operation needs a block blob, and the blob is an append or page blob (distribution writes append blobs). */
export function isInvalidBlobType(err: unknown): boolean {
  return azureCodeOf(err) === 'InvalidBlobType';
}

/** If-None-Match: * found the blob (Azure answers 409 here, not 412). */
export function isBlobAlreadyExists(err: unknown): boolean {
  return azureCodeOf(err) === 'BlobAlreadyExists';
}

/** Put Block List named blocks the blob no longer has. */
export function isInvalidBlockList(err: unknown): boolean {
  return azureCodeOf(err) === 'InvalidBlockList';
}

/** The account or endpoint has no blob batch support (some account kinds, older emulators). */
export function isBatchUnsupported(err: unknown): boolean {
  const status = statusOf(err);
  const code = azureCodeOf(err);
  return status === 501 || status === 405 || code === 'FeatureNotSupported' || code === 'NotImplemented' || code === 'APINotImplemented';
}

/** Operations for which a missing container just means nothing is stored there. */
const READS = new Set(['getContent', 'reader', 'stat', 'list', 'walk', 'delete', 'move', 'redirectURL']);

/** Azure Storage's codes for "busy or timed out, try again". */
const TRANSIENT_AZURE_CODES = new Set(['ServerBusy', 'InternalError', 'OperationTimedOut', 'ServiceUnavailable', 'REQUEST_SEND_ERROR']);

/**
 * Whether trying the same request again may succeed: a transient status (5xx, 429, 408), Azure's
 * ServerBusy / InternalError / OperationTimedOut, a request the pipeline could not send
 * (REQUEST_SEND_ERROR), or a network failure (reset, refused, timeout).
 */
function isAzureTransient(err: unknown): boolean {
  if (isTransientHttpStatus(statusOf(err))) return true;
  const code = azureCodeOf(err);
  if (code !== undefined && TRANSIENT_AZURE_CODES.has(code)) return true;
  return isTransientNetworkError(err);
}

/**
 * `err` with a path-specific meaning, a StorageDriverError marked transient for what may pass
 * (see isAzureTransient), or undefined to leave it to the caller's default (StorageDriverError).
 * A missing container is PathNotFoundError for reads; for writes it is a StorageDriverError, as
 * the driver creates the container when a write needs it and only gets here when it could not.
 */
export function mapAzureError(err: unknown, context: ErrorContext): Error | undefined {
  if (!isNotFound(err)) return isAzureTransient(err) ? new StorageDriverError(DRIVER_NAME, err, { ...context, transient: true }) : undefined;
  if (isContainerNotFound(err) && !READS.has(context.operation)) return undefined;
  return new PathNotFoundError(DRIVER_NAME, context.path ?? '/', { operation: context.operation, cause: err });
}

/**
 * An abort nobody asked for: the SDK reports a response cut mid-body (the socket's 'aborted', a
 * lost batch answer) as an AbortError whether or not a signal fired. With the operation's signal
 * not fired, it is a network failure that may pass, not the caller's abort.
 */
export function isCutResponse(err: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted !== true && !isStowageError(err) && isAborted(err);
}

/**
 * Whether a failed request may succeed when made again: what the driver would report as transient
 * (isAzureTransient; a typed error by its own flag, core's isTransient) or a response cut mid-body.
 * Never once the caller's signal fired.
 */
export function isRetriable(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted === true) return false;
  if (isStowageError(err)) return isTransient(err);
  return isCutResponse(err, signal) || isAzureTransient(err);
}

/** A cut response (see isCutResponse) as a transient StorageDriverError, so a retry may take it again. */
export function cutResponseError(err: unknown, context: ErrorContext): StorageDriverError {
  return new StorageDriverError(DRIVER_NAME, err, { ...context, transient: true });
}

/** A bad driver option or config parameter, named. */
export function invalidParameter(parameter: string, problem: string): InvalidParameterError {
  return new InvalidParameterError(DRIVER_NAME, parameter, problem);
}
