import { isPathNotFound } from '../errors';
import { throwIfAborted } from '../util/abort';
import { compareWalkOrder } from './order';
import type { FileInfo, OpOptions, StorageDriver, WalkFn, WalkOptions } from '../types';

/**
 * Walks `root` with list + stat only, for drivers without a native walk: depth first, children
 * in lexical order, 'skip' on a directory skips its subtree, 'stop' ends the walk, and
 * startAfterHint skips everything up to and including the hint in walk order (descending, without
 * emitting, into the directories that contain it). Entries that vanish mid-walk are passed over.
 */
export async function walkFallback(
  driver: Pick<StorageDriver, 'name' | 'list' | 'stat'>,
  root: string,
  fn: WalkFn,
  opts: WalkOptions & OpOptions = {},
): Promise<void> {
  const { startAfterHint: hint, signal } = opts;

  const walkDirectory = async (dir: string): Promise<'stop' | undefined> => {
    throwIfAborted(signal, { driverName: driver.name, operation: 'walk', path: dir });
    let children: string[];
    try {
      children = await driver.list(dir, { signal });
    } catch (err) {
      if (dir !== root && isPathNotFound(err)) return undefined;
      throw err;
    }
    children.sort(compareWalkOrder);
    for (const child of children) {
      const beforeHint = hint !== undefined && compareWalkOrder(child, hint) <= 0;
      // Before the hint in walk order: only the hint itself and its ancestors can lead to later paths.
      if (beforeHint && child !== hint && !hint.startsWith(`${child}/`)) continue;
      let info: FileInfo;
      try {
        info = await driver.stat(child, { signal });
      } catch (err) {
        if (isPathNotFound(err)) continue;
        throw err;
      }
      if (beforeHint) {
        // The hint or an ancestor of it: its descendants and later siblings are still to come.
        if (info.isDir && (await walkDirectory(child)) === 'stop') return 'stop';
        continue;
      }
      const decision = await fn(info);
      if (decision === 'stop') return 'stop';
      if (info.isDir && decision !== 'skip' && (await walkDirectory(child)) === 'stop') return 'stop';
    }
    return undefined;
  };

  await walkDirectory(root);
}
