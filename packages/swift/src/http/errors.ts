import { PathNotFoundError, StorageDriverError, isTransientHttpStatus, isTransientNetworkError, type ErrorContext } from '@stowage/core';

/** A Swift (or Keystone) response with an unexpected status. `body` is its first KiB, for the message. */
export class SwiftHttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    /** What was asked for: `container/object`, `auth`, `info`, ... (never a token or a signature). */
    readonly target: string,
    readonly body = '',
  ) {
    super(`${method} ${target}: HTTP ${status}${body ? `: ${body.trim().slice(0, 300)}` : ''}`);
    this.name = 'SwiftHttpError';
  }
}

const isSwiftStatus = (err: unknown, status: number): boolean => err instanceof SwiftHttpError && err.status === status;

/**
 * Whether trying the same request again may succeed: a transient status from Swift, its proxy or
 * Keystone (5xx, 429 and 498 rate limiting, 408), or a network failure (reset, refused, timeout).
 */
function isSwiftTransient(err: unknown): boolean {
  if (err instanceof SwiftHttpError) return isTransientHttpStatus(err.status) || err.status === 498;
  return isTransientNetworkError(err);
}

/**
 * Swift's 404 on the path's object is PathNotFound; a transient failure (see isSwiftTransient) a
 * StorageDriverError marked transient; everything else becomes the base's StorageDriverError.
 */
export function mapSwiftError(driverName: string, err: unknown, context: ErrorContext): Error | undefined {
  if (isSwiftStatus(err, 404) && context.path !== undefined)
    return new PathNotFoundError(driverName, context.path, { operation: context.operation, cause: err });
  if (isSwiftTransient(err)) return new StorageDriverError(driverName, err, { ...context, transient: true });
  return undefined;
}
