import { ParameterReader, parseGoDuration, registerDriver } from '@stowage/core';
import { AzureDriver } from './driver';
import { DEFAULT_COPY_STATUS_POLL_DELAY_MS, DEFAULT_COPY_STATUS_POLL_MAX_RETRY, DRIVER_NAME, type AzureCredentials, type AzureDriverOptions } from './options';

/**
 * Builds an AzureDriver from distribution's config.yml parameters:
 *
 *   accountname, accountkey, container, realm, rootdirectory, serviceurl, connectionstring,
 *   credentials: { type: client_secret | shared_key | default_credentials, clientid, tenantid, secret },
 *   copy_status_poll_max_retry (newer distribution: max_retries), copy_status_poll_delay (retry_delay)
 *
 * plus this driver's own: blocksize, uploadconcurrency, maxsingleputsize, maxtries, redirectexpiry (seconds).
 * Names are case-insensitive; values may be strings (environment variables).
 */
export function azureDriverFactory(parameters: Record<string, unknown> = {}): AzureDriver {
  const params = new ParameterReader(DRIVER_NAME, parameters);
  // Parsed here, checked by the constructor (required values, ranges, credentials).
  const options: AzureDriverOptions = {
    container: params.string('container', ''),
    accountName: nonEmpty(params.string('accountname')),
    accountKey: nonEmpty(params.string('accountkey')),
    connectionString: nonEmpty(params.string('connectionstring')),
    realm: nonEmpty(params.string('realm')),
    serviceUrl: nonEmpty(params.string('serviceurl')),
    rootDirectory: params.string('rootdirectory', ''),
    credentials: readCredentials(params),
  };

  // distribution treats 0 as "not set".
  const maxRetryName = params.has('copy_status_poll_max_retry') ? 'copy_status_poll_max_retry' : 'max_retries';
  const maxRetry = params.optionalInteger(maxRetryName);
  options.copyStatusPollMaxRetry = maxRetry === 0 || maxRetry === undefined ? DEFAULT_COPY_STATUS_POLL_MAX_RETRY : maxRetry;
  const delayName = params.has('copy_status_poll_delay') ? 'copy_status_poll_delay' : 'retry_delay';
  options.copyStatusPollDelayMs = readDuration(params, delayName);

  options.blockSize = params.optionalInteger('blocksize');
  options.uploadConcurrency = params.optionalInteger('uploadconcurrency');
  options.maxSinglePutSize = params.optionalInteger('maxsingleputsize');
  options.maxTries = params.optionalInteger('maxtries');
  options.redirectExpirySeconds = params.optionalInteger('redirectexpiry');
  return params.construct(() => new AzureDriver(options), {
    copyStatusPollMaxRetry: maxRetryName,
    copyStatusPollDelayMs: delayName,
    redirectExpirySeconds: 'redirectexpiry',
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** A Go duration ("100ms", "1s"; a bare number is seconds, as elsewhere in Stowage), in milliseconds. */
function readDuration(params: ParameterReader, name: string): number {
  const raw = params.raw(name);
  if (raw === undefined || raw === '') return DEFAULT_COPY_STATUS_POLL_DELAY_MS;
  const seconds = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseGoDuration(raw) : undefined;
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    throw params.invalid(name, `must be a duration such as "100ms" or "1s", got ${JSON.stringify(raw)}`);
  }
  return seconds * 1000;
}

const CREDENTIAL_TYPES = ['client_secret', 'shared_key', 'default_credentials'] as const;

function readCredentials(params: ParameterReader): AzureCredentials | undefined {
  const raw = params.raw('credentials');
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw params.invalid('credentials', 'must be a map with a type');
  const inner = new ParameterReader(DRIVER_NAME, raw as Record<string, unknown>);
  const type = inner.string('type');
  // distribution's documentation also shows `type: default`.
  const normalised = type === 'default' ? 'default_credentials' : type;
  if (!CREDENTIAL_TYPES.includes(normalised as (typeof CREDENTIAL_TYPES)[number])) {
    throw params.invalid('credentials.type', `must be one of ${CREDENTIAL_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
  if (normalised === 'client_secret') {
    // The constructor checks that all three are given.
    return { type: 'client_secret', tenantId: inner.string('tenantid', ''), clientId: inner.string('clientid', ''), secret: inner.string('secret', '') };
  }
  return { type: normalised as 'shared_key' | 'default_credentials' };
}

registerDriver(DRIVER_NAME, azureDriverFactory);
