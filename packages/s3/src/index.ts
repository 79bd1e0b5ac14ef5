export { S3Driver } from './driver';
export { s3DriverFactory } from './factory';
export { buildS3Client } from './client';
export { S3Store, DELETE_BATCH } from './store';
export { mapS3Error, isS3NotFound } from './errors';
export * from './options';
