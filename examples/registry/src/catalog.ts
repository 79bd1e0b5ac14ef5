/** The repository list, found the way distribution's catalog finds it. */
import { isPathNotFound, type StorageDriver } from '@stowage/core';
import { REPOSITORIES_ROOT } from './layout';

/**
 * Every repository name in lexical order. A repository is a directory under `repositories/` that
 * holds a `_manifests` folder; other `_`-folders (`_layers`, `_uploads`) are not descended into.
 */
export async function listRepositories(driver: StorageDriver): Promise<string[]> {
  const names: string[] = [];
  try {
    await driver.walk(REPOSITORIES_ROOT, (info) => {
      if (!info.isDir) return undefined;
      const base = info.path.slice(info.path.lastIndexOf('/') + 1);
      if (!base.startsWith('_')) return undefined;
      if (base === '_manifests') names.push(info.path.slice(REPOSITORIES_ROOT.length + 1, -'/_manifests'.length));
      return 'skip';
    });
  } catch (err) {
    if (isPathNotFound(err)) return [];
    throw err;
  }
  return names.sort();
}
