/** The driver's options turned into settings: defaults applied, ranges checked. */
import { integerOption } from '@stowage/core';
import { invalidParameter } from './errors';
import {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_COPY_STATUS_POLL_DELAY_MS,
  DEFAULT_COPY_STATUS_POLL_MAX_RETRY,
  DEFAULT_MAX_TRIES,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_UPLOAD_CONCURRENCY,
  DRIVER_NAME,
  MAX_BLOCK_SIZE,
  MAX_SINGLE_PUT_SIZE,
  PUT_BLOB_LIMIT,
  type AzureDriverOptions,
} from './options';
/** The driver's validated settings (InvalidParameterError names a bad option, as AzureDriverOptions spells it). */
export interface AzureSettings {
  rootDirectory: string;
  blockSize: number;
  uploadConcurrency: number;
  copyStatusPollMaxRetry: number;
  copyStatusPollDelayMs: number;
  redirectExpirySeconds: number;
  maxSinglePutSize: number;
}

export function resolveSettings(options: AzureDriverOptions): AzureSettings {
  const rootDirectory = options.rootDirectory ?? '';
  if (typeof rootDirectory !== 'string') throw invalidParameter('rootDirectory', 'must be a string');
  // Checked here although the SDK's retry policy reads it (client.ts): a bad value fails at construction.
  integerOption(DRIVER_NAME, 'maxTries', options.maxTries, { default: DEFAULT_MAX_TRIES, min: 1, max: 100 });
  return {
    rootDirectory,
    blockSize: integerOption(DRIVER_NAME, 'blockSize', options.blockSize, { default: DEFAULT_BLOCK_SIZE, min: 1, max: MAX_BLOCK_SIZE }),
    uploadConcurrency: integerOption(DRIVER_NAME, 'uploadConcurrency', options.uploadConcurrency, { default: DEFAULT_UPLOAD_CONCURRENCY, min: 1, max: 64 }),
    copyStatusPollMaxRetry: integerOption(DRIVER_NAME, 'copyStatusPollMaxRetry', options.copyStatusPollMaxRetry, {
      default: DEFAULT_COPY_STATUS_POLL_MAX_RETRY,
      min: -1,
      max: 1000,
    }),
    copyStatusPollDelayMs: numberOption('copyStatusPollDelayMs', options.copyStatusPollDelayMs, DEFAULT_COPY_STATUS_POLL_DELAY_MS, 0),
    redirectExpirySeconds: numberOption('redirectExpirySeconds', options.redirectExpirySeconds, DEFAULT_REDIRECT_EXPIRY_SECONDS, Number.MIN_VALUE),
    maxSinglePutSize: integerOption(DRIVER_NAME, 'maxSinglePutSize', options.maxSinglePutSize, { default: MAX_SINGLE_PUT_SIZE, min: 0, max: PUT_BLOB_LIMIT }),
  };
}

/** A number (not necessarily whole) of at least `min`; integerOption's counterpart for durations. */
function numberOption(parameter: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
    throw invalidParameter(parameter, `must be a number of at least ${min}, got ${String(value)}`);
  return value;
}
