import { PathNotFoundError, type ErrorContext } from '@stowage/core';

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

/** Swift's 404 on the path's object is PathNotFound; everything else becomes the base's StorageDriverError. */
export function mapSwiftError(driverName: string, err: unknown, context: ErrorContext): Error | undefined {
  if (isSwiftStatus(err, 404) && context.path !== undefined)
    return new PathNotFoundError(driverName, context.path, { operation: context.operation, cause: err });
  return undefined;
}
