import { ParameterReader, registerDriver } from '@stowage/core';
import { DEFAULT_MAX_THREADS, DEFAULT_ROOT_DIRECTORY, DRIVER_NAME, FilesystemDriver } from './driver';

/** distribution raises any smaller `maxthreads` to this (it never refuses a low value). */
export const MIN_MAX_THREADS = 25;

/**
 * Builds a FilesystemDriver from distribution's config.yml parameters: `rootdirectory`
 * (default /var/lib/registry) and `maxthreads` (default 100; values below 25 are raised to 25,
 * as distribution does), plus `syncOnCommit` (default true). Values may be strings, as they are
 * when they come from environment variables.
 */
export function filesystemDriverFactory(parameters: Record<string, unknown> = {}): FilesystemDriver {
  const params = new ParameterReader(DRIVER_NAME, parameters);
  // Parsed here, checked by the constructor.
  const rootDirectory = params.string('rootdirectory', DEFAULT_ROOT_DIRECTORY);
  const maxThreads = Math.max(MIN_MAX_THREADS, params.integer('maxthreads', { default: DEFAULT_MAX_THREADS }));
  const syncOnCommit = params.boolean('syncOnCommit', true);
  return params.construct(() => new FilesystemDriver({ rootDirectory, maxThreads, syncOnCommit }), { syncOnCommit: 'syncOnCommit' });
}

registerDriver(DRIVER_NAME, filesystemDriverFactory);
