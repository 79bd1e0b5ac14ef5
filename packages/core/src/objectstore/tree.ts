/**
 * stat and list over a store whose directories are only key prefixes (S3, OSS, Swift): a path is a
 * file when an object has its key, a directory while any key lies below it.
 */
import { PathNotFoundError } from '../errors';
import { ROOT } from '../paths';
import { compareNames } from '../walk/order';
import type { FileInfo } from '../types';

/**
 * stat: the object at `path` (`file()`), else a directory dated by the first object below it
 * (`firstBelow()`), else PathNotFoundError. The root is a directory even in an empty store.
 */
export async function statByPrefix(
  driverName: string,
  path: string,
  file: () => Promise<{ size: number; modTime: Date } | undefined>,
  firstBelow: () => Promise<{ modTime: Date } | undefined>,
): Promise<FileInfo> {
  if (path === ROOT) return { path, size: 0, modTime: new Date(0), isDir: true };
  const found = await file();
  if (found) return { path, size: found.size, modTime: found.modTime, isDir: false };
  const first = await firstBelow();
  if (first) return { path, size: 0, modTime: first.modTime, isDir: true };
  throw new PathNotFoundError(driverName, path, { operation: 'stat' });
}

/**
 * list: the direct children of `path`, sorted, from the pages of a delimiter listing below it (each
 * page's object keys and common prefixes, without the trailing delimiter). Keys `pathOf` rejects
 * (hidden namespaces, foreign names that are not valid paths) are left out but still make the
 * directory exist; nothing at all below a non-root path is PathNotFoundError.
 */
export async function listByPrefix(
  driverName: string,
  path: string,
  pages: AsyncIterable<readonly string[]>,
  pathOf: (key: string) => string | undefined,
): Promise<string[]> {
  const children: string[] = [];
  let anything = false;
  for await (const keys of pages) {
    for (const key of keys) {
      anything = true;
      const child = pathOf(key);
      if (child !== undefined) children.push(child);
    }
  }
  if (!anything && path !== ROOT) throw new PathNotFoundError(driverName, path, { operation: 'list' });
  // A name can be both a file and a directory in an object store (keys `a` and `a/b`): listed once.
  return [...new Set(children)].sort(compareNames);
}
