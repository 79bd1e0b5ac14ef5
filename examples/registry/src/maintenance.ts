/**
 * storage.maintenance.uploadpurging: every `interval`, remove uploads started more than `age` ago,
 * as distribution does — the drivers' staged data (purgeUploads) and each old `_uploads/<id>`
 * folder (found by its `startedat`).
 */
import { isPathNotFound, type StorageDriver } from '@stowage/core';
import type { RegistryConfig } from './config';
import { REPOSITORIES_ROOT } from './layout';
import { deleteIfPresent, listIfPresent } from './links';
import type { Logger } from './logger';

/** What one purge removed (or, in a dry run, would have removed). */
export interface PurgeResult {
  stagedUploads: number;
  uploadFolders: number;
}

export async function purgeOldUploads(driver: StorageDriver, olderThan: Date, dryRun: boolean): Promise<PurgeResult> {
  const folders: string[] = [];
  try {
    await driver.walk(REPOSITORIES_ROOT, async (info) => {
      if (!info.isDir) return undefined;
      const base = info.path.slice(info.path.lastIndexOf('/') + 1);
      if (!base.startsWith('_')) return undefined;
      if (base === '_uploads') {
        for (const folder of await listIfPresent(driver, info.path)) {
          if ((await startedAt(driver, folder)) < olderThan.getTime()) folders.push(folder);
        }
      }
      return 'skip';
    });
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }
  if (dryRun) return { stagedUploads: 0, uploadFolders: folders.length };
  const stagedUploads = await driver.purgeUploads(olderThan);
  for (const folder of folders) {
    await cancelStagedData(driver, `${folder}/data`); // written recently, so purgeUploads kept it
    await deleteIfPresent(driver, folder);
  }
  return { stagedUploads, uploadFolders: folders.length };
}

async function cancelStagedData(driver: StorageDriver, path: string): Promise<void> {
  try {
    await (await driver.writer(path, true)).cancel();
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }
}

/** When the upload in `folder` started (ms), or 0 (purge it) when that cannot be read. */
async function startedAt(driver: StorageDriver, folder: string): Promise<number> {
  try {
    const time = Date.parse((await driver.getContent(`${folder}/startedat`)).toString('utf8').trim());
    return Number.isNaN(time) ? 0 : time;
  } catch {
    return 0;
  }
}

/** setInterval's largest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Starts the periodic purge if enabled; returns the function that stops it. */
export function startUploadPurging(driver: StorageDriver, purging: RegistryConfig['storage']['uploadPurging'], logger: Logger): () => void {
  if (!purging.enabled) return () => undefined;
  const run = async () => {
    try {
      const result = await purgeOldUploads(driver, new Date(Date.now() - purging.ageSeconds * 1000), purging.dryRun);
      logger.info('purged old uploads', { ...result, dryRun: purging.dryRun });
    } catch (err) {
      logger.error('upload purge failed', { error: (err as Error).message });
    }
  };
  const timer = setInterval(() => void run(), Math.min(purging.intervalSeconds * 1000, MAX_TIMER_MS));
  timer.unref();
  return () => clearInterval(timer);
}
