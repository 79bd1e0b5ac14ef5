import { ParameterReader, registerDriver } from '@stowage/core';
import { S3Driver } from './driver';
import { DEFAULT_REDIRECT_EXPIRY_SECONDS, DEFAULT_SILENCE_TIMEOUT_MS, DRIVER_NAME, type S3DriverOptions } from './options';

/**
 * Builds an S3Driver from distribution's s3-aws config.yml parameters (same names and defaults):
 * accesskey, secretkey, region, regionendpoint, forcepathstyle, bucket, rootdirectory, encrypt,
 * keyid, secure, skipverify, v4auth, chunksize, multipartcopychunksize,
 * multipartcopymaxconcurrency, multipartcopythresholdsize, storageclass, objectacl, useragent,
 * usedualstack, accelerate, sessiontoken, loglevel; plus multipartconcurrency, silencetimeout
 * (a duration: how long a request may wait in silence before it is retried) and
 * `redirect: { expiry }` (or `redirectexpiry`). Without accesskey/secretkey the SDK's default
 * credential chain is used.
 */
export function s3DriverFactory(parameters: Record<string, unknown> = {}): S3Driver {
  const params = new ParameterReader(DRIVER_NAME, parameters);
  // v4auth is a config.yml switch only (there is no option for it): checked here.
  if (!params.boolean('v4auth', true)) {
    throw params.invalid('v4auth', 'false is not supported: the AWS SDK v3 signs with Signature Version 4 only');
  }
  // Parsed here, checked by the constructor (required values, ranges, combinations).
  const options: S3DriverOptions = {
    bucket: params.string('bucket', ''),
    region: params.string('region', ''),
    regionEndpoint: params.string('regionendpoint') || undefined,
    forcePathStyle: params.boolean('forcepathstyle', false),
    accessKey: params.string('accesskey') || undefined,
    secretKey: params.string('secretkey') || undefined,
    sessionToken: params.string('sessiontoken') || undefined,
    rootDirectory: params.string('rootdirectory', ''),
    encrypt: params.boolean('encrypt', false),
    keyId: params.string('keyid') || undefined,
    secure: params.boolean('secure', true),
    skipVerify: params.boolean('skipverify', false),
    chunkSize: params.optionalInteger('chunksize'),
    multipartConcurrency: params.optionalInteger('multipartconcurrency'),
    multipartCopyChunkSize: params.optionalInteger('multipartcopychunksize'),
    multipartCopyMaxConcurrency: params.optionalInteger('multipartcopymaxconcurrency'),
    multipartCopyThresholdSize: params.optionalInteger('multipartcopythresholdsize'),
    storageClass: params.string('storageclass', 'STANDARD'),
    objectAcl: params.string('objectacl', 'private'),
    userAgent: params.string('useragent') || undefined,
    useDualStack: params.boolean('usedualstack', false),
    accelerate: params.boolean('accelerate', false),
    logLevel: params.string('loglevel') || undefined,
    silenceTimeoutMs: Math.ceil(params.durationSeconds('silencetimeout', DEFAULT_SILENCE_TIMEOUT_MS / 1000) * 1000),
    redirectExpirySeconds: params.redirectExpirySeconds(DEFAULT_REDIRECT_EXPIRY_SECONDS),
  };
  return params.construct(() => new S3Driver(options), { silenceTimeoutMs: 'silencetimeout', redirectExpirySeconds: 'redirectexpiry' });
}

registerDriver(DRIVER_NAME, s3DriverFactory);
// distribution registers this driver as `s3-aws`.
registerDriver('s3-aws', s3DriverFactory);
