/**
 * Not part of the public API: what this repository's own tests reach inside the driver. May
 * change in any release.
 */
export { swiftDriverInternals, type SwiftDriverInternals } from './driver';
export { guessAuthVersion } from './auth/identity';
export { mapSwiftError } from './http/errors';
