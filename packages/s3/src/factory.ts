import { ParameterReader, registerDriver } from '@stowage/core';
import { S3Driver } from './driver';
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MULTIPART_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
  DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DRIVER_NAME,
  MAX_COPY_OBJECT_SIZE,
  MIN_CHUNK_SIZE,
  MIN_COPY_PART_SIZE,
  type S3DriverOptions,
} from './options';

/**
 * Builds an S3Driver from distribution's s3-aws config.yml parameters (same names and defaults):
 * accesskey, secretkey, region, regionendpoint, forcepathstyle, bucket, rootdirectory, encrypt,
 * keyid, secure, skipverify, v4auth, chunksize, multipartcopychunksize,
 * multipartcopymaxconcurrency, multipartcopythresholdsize, storageclass, objectacl, useragent,
 * usedualstack, accelerate, sessiontoken, loglevel; plus multipartconcurrency and
 * `redirect: { expiry }` (or `redirectexpiry`). Without accesskey/secretkey the SDK's default
 * credential chain is used.
 */
export function s3DriverFactory(parameters: Record<string, unknown> = {}): S3Driver {
  const params = new ParameterReader(DRIVER_NAME, parameters);
  if (!params.boolean('v4auth', true)) {
    throw params.invalid('v4auth', 'false is not supported: the AWS SDK v3 signs with Signature Version 4 only');
  }
  const accessKey = params.string('accesskey');
  const secretKey = params.string('secretkey');
  if (Boolean(accessKey) !== Boolean(secretKey)) throw params.invalid(accessKey ? 'secretkey' : 'accesskey', 'accesskey and secretkey go together');
  const options: S3DriverOptions = {
    bucket: params.requiredString('bucket'),
    region: params.requiredString('region'),
    regionEndpoint: params.string('regionendpoint') || undefined,
    forcePathStyle: params.boolean('forcepathstyle', false),
    accessKey: accessKey || undefined,
    secretKey: secretKey || undefined,
    sessionToken: params.string('sessiontoken') || undefined,
    rootDirectory: params.string('rootdirectory', ''),
    encrypt: params.boolean('encrypt', false),
    keyId: params.string('keyid') || undefined,
    secure: params.boolean('secure', true),
    skipVerify: params.boolean('skipverify', false),
    chunkSize: params.integer('chunksize', { default: DEFAULT_CHUNK_SIZE, min: MIN_CHUNK_SIZE }),
    multipartConcurrency: params.integer('multipartconcurrency', { default: DEFAULT_MULTIPART_CONCURRENCY, min: 1 }),
    multipartCopyChunkSize: params.integer('multipartcopychunksize', { default: DEFAULT_MULTIPART_COPY_CHUNK_SIZE, min: MIN_COPY_PART_SIZE, max: MAX_COPY_OBJECT_SIZE }),
    multipartCopyMaxConcurrency: params.integer('multipartcopymaxconcurrency', { default: DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY, min: 1 }),
    multipartCopyThresholdSize: params.integer('multipartcopythresholdsize', { default: DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE, min: 0, max: MAX_COPY_OBJECT_SIZE }),
    storageClass: params.string('storageclass', 'STANDARD'),
    objectAcl: params.string('objectacl', 'private'),
    userAgent: params.string('useragent') || undefined,
    useDualStack: params.boolean('usedualstack', false),
    accelerate: params.boolean('accelerate', false),
    logLevel: params.string('loglevel') || undefined,
    redirectExpirySeconds: params.redirectExpirySeconds(DEFAULT_REDIRECT_EXPIRY_SECONDS),
  };
  if (options.keyId && !options.encrypt) throw params.invalid('keyid', 'needs encrypt: true');
  return new S3Driver(options);
}

registerDriver(DRIVER_NAME, s3DriverFactory);
// distribution registers this driver as `s3-aws`.
registerDriver('s3-aws', s3DriverFactory);
