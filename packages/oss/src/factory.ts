import { ParameterReader, registerDriver } from '@stowage/core';
import { OssDriver } from './driver';
import {
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_SILENCE_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  DRIVER_NAME,
  type AuthorizationVersion,
  type OssDriverOptions,
} from './options';

/**
 * Builds an OssDriver from distribution's oss config.yml parameters (same names and defaults):
 * accesskeyid, accesskeysecret, region, endpoint, internal, encrypt, encryptionkeyid, secure
 * (default true), bucket, chunksize (default 10 MiB; here at least 100 KiB, OSS's own minimum,
 * where distribution asks for 5 MiB), rootdirectory. Added: authorizationversion (v1 | v4),
 * ststoken, pathstyle, cname, multipartconcurrency, multipartcopythresholdsize,
 * multipartcopychunksize, multipartcopymaxconcurrency, maxretries, timeout, silencetimeout (a
 * duration: how long a response body may stay silent before the read is retried) and
 * `redirect: { expiry }` (or `redirectexpiry`).
 */
export function ossDriverFactory(parameters: Record<string, unknown> = {}): OssDriver {
  const params = new ParameterReader(DRIVER_NAME, parameters);
  // Parsed here, checked by the constructor (required values, names, ranges, combinations).
  const options: OssDriverOptions = {
    accessKeyId: params.string('accesskeyid', ''),
    accessKeySecret: params.string('accesskeysecret', ''),
    region: params.string('region', ''),
    bucket: params.string('bucket', ''),
    endpoint: params.string('endpoint') || undefined,
    internal: params.boolean('internal', false),
    secure: params.boolean('secure', true),
    encrypt: params.boolean('encrypt', false),
    encryptionKeyId: params.string('encryptionkeyid') || undefined,
    rootDirectory: params.string('rootdirectory', ''),
    chunkSize: params.optionalInteger('chunksize'),
    authorizationVersion: authorizationVersion(params),
    stsToken: params.string('ststoken') || undefined,
    pathStyle: params.boolean('pathstyle', false),
    cname: params.boolean('cname', false),
    multipartConcurrency: params.optionalInteger('multipartconcurrency'),
    multipartCopyThresholdSize: params.optionalInteger('multipartcopythresholdsize'),
    multipartCopyChunkSize: params.optionalInteger('multipartcopychunksize'),
    multipartCopyMaxConcurrency: params.optionalInteger('multipartcopymaxconcurrency'),
    maxRetries: params.optionalInteger('maxretries'),
    timeoutMs: Math.ceil(params.durationSeconds('timeout', DEFAULT_TIMEOUT_MS / 1000) * 1000),
    silenceTimeoutMs: Math.ceil(params.durationSeconds('silencetimeout', DEFAULT_SILENCE_TIMEOUT_MS / 1000) * 1000),
    redirectExpirySeconds: params.redirectExpirySeconds(DEFAULT_REDIRECT_EXPIRY_SECONDS),
  };
  return params.construct(() => new OssDriver(options), { timeoutMs: 'timeout', silenceTimeoutMs: 'silencetimeout', redirectExpirySeconds: 'redirectexpiry' });
}

/** distribution's spellings (v1, v4) and bare digits; anything else goes to the constructor, which names it. */
function authorizationVersion(params: ParameterReader): AuthorizationVersion {
  const value = params.string('authorizationversion', 'v1').trim().toLowerCase();
  if (value === '1') return 'v1';
  if (value === '4') return 'v4';
  return value as AuthorizationVersion;
}

registerDriver(DRIVER_NAME, ossDriverFactory);
