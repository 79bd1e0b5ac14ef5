/**
 * Path rules shared by every driver.
 *
 * A path is one or more `/component`s, each of `[A-Za-z0-9._-]`. Unlike distribution, the
 * components `.` and `..` are invalid everywhere, so no path can ever leave a driver's root.
 * `/` alone names the root and is accepted only where an operation allows it.
 */
import { InvalidPathError } from './errors';

export const PATH_PATTERN = /^(\/[A-Za-z0-9._-]+)+$/;
const COMPONENT_PATTERN = /^[A-Za-z0-9._-]+$/;

export const ROOT = '/';

/** True if `name` can be one component of a valid path (so `~staging` or `.` never can). */
export function isValidComponent(name: string): boolean {
  return COMPONENT_PATTERN.test(name) && name !== '.' && name !== '..';
}

/** Why `path` is invalid, or undefined when it is a valid non-root path. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'path must be a string';
  if (path === ROOT) return 'the root is not allowed here';
  if (!PATH_PATTERN.test(path)) return 'path must match ^(/[A-Za-z0-9._-]+)+$';
  for (const component of path.split('/').slice(1)) {
    if (component === '.' || component === '..') return 'path components "." and ".." are not allowed';
  }
  return undefined;
}

export function isValidPath(path: unknown, options: { allowRoot?: boolean } = {}): path is string {
  if (options.allowRoot && path === ROOT) return true;
  return pathProblem(path) === undefined;
}

/** Throws InvalidPathError (naming the driver and the path) unless `path` is valid. */
export function assertValidPath(driverName: string, path: unknown, options: { allowRoot?: boolean; operation?: string } = {}): asserts path is string {
  if (options.allowRoot && path === ROOT) return;
  const problem = pathProblem(path);
  if (problem !== undefined) {
    throw new InvalidPathError(driverName, path, problem, options.operation ? { operation: options.operation } : {});
  }
}

/** The components of a path: `/a/b` -> ['a', 'b'], `/` -> []. */
export function pathComponents(path: string): string[] {
  return path === ROOT ? [] : path.slice(1).split('/');
}

/** `/a/b` -> `/a`; `/a` -> `/`. */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? ROOT : path.slice(0, i);
}

/** `/a/b` -> `b`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a directory path and a component: ('/', 'a') -> '/a', ('/a', 'b') -> '/a/b'. */
export function joinPath(dir: string, name: string): string {
  return dir === ROOT ? `/${name}` : `${dir}/${name}`;
}

/** True if `path` is `dir` itself or lies below it (`/ab` is not below `/a`). */
export function isSameOrBelow(path: string, dir: string): boolean {
  if (dir === ROOT) return true;
  return path === dir || path.startsWith(`${dir}/`);
}

/** Every ancestor directory of `path`, nearest first, excluding the root: `/a/b/c` -> ['/a/b', '/a']. */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = parentPath(path); p !== ROOT; p = parentPath(p)) out.push(p);
  return out;
}
