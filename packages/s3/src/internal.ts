/**
 * Not part of the public API: the driver's building blocks, for this repository's own tests and
 * tooling. May change in any release.
 */
export { buildS3Client } from './client';
export { S3Store, DELETE_BATCH, type ObjectCreationParams } from './store';
export { mapS3Error, isS3NotFound } from './errors';
