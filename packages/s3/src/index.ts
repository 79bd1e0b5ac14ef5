export { S3Driver } from './driver';
export { s3DriverFactory } from './factory';
export * from './options';
