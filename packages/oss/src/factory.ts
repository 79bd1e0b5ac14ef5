import { ParameterReader, registerDriver } from '@stowage/core';
import { OssDriver } from './driver';
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MULTIPART_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
  DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_TIMEOUT_MS,
  DRIVER_NAME,
  MAX_COPY_OBJECT_SIZE,
  MAX_PART_SIZE,
  MIN_CHUNK_SIZE,
  type AuthorizationVersion,
  type OssDriverOptions,
} from './options';

/**
 * Builds an OssDriver from distribution's oss config.yml parameters (same names and defaults):
 * accesskeyid, accesskeysecret, region, endpoint, internal, encrypt, encryptionkeyid, secure
 * (default true), bucket, chunksize (default 10 MiB; here at least 100 KiB, OSS's own minimum,
 * where distribution asks for 5 MiB), rootdirectory. Added: authorizationversion (v1 | v4),
 * ststoken, pathstyle, cname, multipartconcurrency, multipartcopythresholdsize,
 * multipartcopychunksize, multipartcopymaxconcurrency, maxretries, timeout and
 * `redirect: { expiry }` (or `redirectexpiry`).
 */
export function ossDriverFactory(parameters: Record<string, unknown> = {}): OssDriver {
  const params = new ParameterReader(DRIVER_NAME, parameters);
  const options: OssDriverOptions = {
    accessKeyId: params.requiredString('accesskeyid'),
    accessKeySecret: params.requiredString('accesskeysecret'),
    region: params.requiredString('region'),
    bucket: params.requiredString('bucket'),
    endpoint: params.string('endpoint') || undefined,
    internal: params.boolean('internal', false),
    secure: params.boolean('secure', true),
    encrypt: params.boolean('encrypt', false),
    encryptionKeyId: params.string('encryptionkeyid') || undefined,
    rootdirectory: params.string('rootdirectory', ''),
    chunksize: params.integer('chunksize', { default: DEFAULT_CHUNK_SIZE, min: MIN_CHUNK_SIZE, max: MAX_PART_SIZE }),
    authorizationVersion: authorizationVersion(params),
    stsToken: params.string('ststoken') || undefined,
    pathStyle: params.boolean('pathstyle', false),
    cname: params.boolean('cname', false),
    multipartConcurrency: params.integer('multipartconcurrency', { default: DEFAULT_MULTIPART_CONCURRENCY, min: 1 }),
    multipartCopyThresholdSize: params.integer('multipartcopythresholdsize', { default: DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE, min: 0, max: MAX_COPY_OBJECT_SIZE }),
    multipartCopyChunkSize: params.integer('multipartcopychunksize', { default: DEFAULT_MULTIPART_COPY_CHUNK_SIZE, min: MIN_CHUNK_SIZE, max: MAX_PART_SIZE }),
    multipartCopyMaxConcurrency: params.integer('multipartcopymaxconcurrency', { default: DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY, min: 1 }),
    maxRetries: params.integer('maxretries', { default: DEFAULT_MAX_RETRIES, min: 0 }),
    timeoutMs: Math.ceil(params.durationSeconds('timeout', DEFAULT_TIMEOUT_MS / 1000) * 1000),
    redirectExpirySeconds: params.redirectExpirySeconds(DEFAULT_REDIRECT_EXPIRY_SECONDS),
  };
  if (options.encryptionKeyId && !options.encrypt) throw params.invalid('encryptionkeyid', 'needs encrypt: true');
  return new OssDriver(options);
}

function authorizationVersion(params: ParameterReader): AuthorizationVersion {
  const value = params.string('authorizationversion', 'v1').trim().toLowerCase();
  if (value === 'v1' || value === '1') return 'v1';
  if (value === 'v4' || value === '4') return 'v4';
  throw params.invalid('authorizationversion', `must be v1 or v4, got ${JSON.stringify(value)}`);
}

registerDriver(DRIVER_NAME, ossDriverFactory);
