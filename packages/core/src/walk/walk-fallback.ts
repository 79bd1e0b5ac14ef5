import { isPathNotFound } from '../errors';
import { walkTree } from './walk-tree';
import type { FileInfo, OpOptions, StorageDriver, WalkFn, WalkOptions } from '../types';

/** How many stats the fallback keeps in flight: list + stat is a round trip per entry on a remote backend. */
const FALLBACK_STAT_AHEAD = 8;

/**
 * Walks `root` with the driver's public list + stat only, for drivers without a native walk
 * (semantics in walkTree). A missing root is PathNotFoundError; entries that vanish mid-walk are
 * passed over.
 */
export async function walkFallback(
  driver: Pick<StorageDriver, 'name' | 'list' | 'stat'>,
  root: string,
  fn: WalkFn,
  opts: WalkOptions & OpOptions = {},
): Promise<void> {
  const { signal } = opts;
  const unlessVanished = async <T>(lookup: Promise<T>, vanishedIsError: boolean): Promise<T | undefined> => {
    try {
      return await lookup;
    } catch (err) {
      if (!vanishedIsError && isPathNotFound(err)) return undefined;
      throw err;
    }
  };
  await walkTree(
    {
      driverName: driver.name,
      children: (dir, isWalkRoot) => unlessVanished(driver.list(dir, { signal }), isWalkRoot),
      stat: (path): Promise<FileInfo | undefined> => unlessVanished(driver.stat(path, { signal }), false),
    },
    root,
    fn,
    opts,
    { statAhead: FALLBACK_STAT_AHEAD },
  );
}
