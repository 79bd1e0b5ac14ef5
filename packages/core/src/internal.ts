/**
 * Not part of the public API: what this repository's own tests and drivers reach that users
 * should not. May change in any release.
 */
export { objectStoreDriverInternals, type ObjectStoreDriverInternals } from './objectstore/object-store-driver';
export { watchSilence } from './base/silence';
export { retryRead, type RetryReadOptions } from './base/retry-read';
