/**
 * Where things live on disk.
 *
 * Committed content: storage path P is the file `<root>P`, exactly as in distribution's
 * filesystem driver, so a tree written by one reads back in the other.
 *
 * Everything not yet committed lives in the staging area `<root>/.stowage~staging`. Its name
 * contains `~`, which no valid path component may contain, so it can never collide with stored
 * content and list/walk never show it. A staged file of path P is named after P with its `/`
 * written as `~`, plus a suffix, flat in the staging root: `/a/b/c` -> `<staging>/a~b~c~upload`.
 * As `~` never occurs in a component, the name maps back to exactly one path, and no hot path
 * has to create or prune a directory. When that name would be too long for the filesystem
 * (stems over 200 characters), the file is mirrored instead: `<staging>/a/b/c~upload`; the `~`
 * suffix keeps it from clashing with the directory `<staging>/a/b/c` of deeper paths. Suffixes:
 *  - `~upload`: the directory of the unfinished upload of P (one per path, found again by path
 *    after a restart). What it holds is described in uploads.ts.
 *  - `~put-<unique>`: a putContent temp file.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { joinPath, ROOT } from '@stowage/core';

export const STAGING_DIR_NAME = '.stowage~staging';
export const UPLOAD_SUFFIX = '~upload';
const PUT_MARKER = '~put-';

/** Longest flat stem; names stay well under NAME_MAX (255 bytes) with any suffix. */
const MAX_FLAT_STEM = 200;

// Unique temp names without a syscall each: a random per-process token plus a counter.
const processToken = randomBytes(6).toString('hex');
let tempCounter = 0;
function uniqueSuffix(): string {
  tempCounter = (tempCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${processToken}${tempCounter.toString(36)}`;
}

export class Layout {
  /** The absolute root directory, without a trailing separator (unless it is `/`). */
  readonly root: string;
  /** The staging area's absolute path. */
  readonly staging: string;
  /** What storage paths are appended to ('' when the root is `/`). */
  private readonly prefix: string;

  constructor(rootdirectory: string) {
    this.root = resolve(rootdirectory);
    this.prefix = this.root === '/' ? '' : this.root;
    this.staging = `${this.prefix}/${STAGING_DIR_NAME}`;
  }

  /** The committed file or directory of a storage path. */
  full(path: string): string {
    return path === ROOT ? this.root : this.prefix + path;
  }

  /** A file below the root as shown to people: relative to the root, with a leading `/`. */
  relative(file: string): string {
    return file.slice(this.prefix.length);
  }

  /** The directory of the unfinished upload of `path`. */
  uploadDir(path: string): string {
    return this.staged(path, UPLOAD_SUFFIX);
  }

  /** A fresh putContent temp file for `path`. */
  putTemp(path: string): string {
    return this.staged(path, PUT_MARKER + uniqueSuffix());
  }

  /**
   * Flat in the staging root, `/` encoded as `~` (so the hot paths create and prune no
   * directories); mirrored under `<staging>P` when the flat name would be too long. Which one is
   * decided by the path alone, so a new process finds an upload again.
   */
  private staged(path: string, suffix: string): string {
    const stem = path.slice(1).replaceAll('/', '~');
    return stem.length <= MAX_FLAT_STEM ? `${this.staging}/${stem}${suffix}` : `${this.staging}${path}${suffix}`;
  }
}

/**
 * The storage path a staging entry belongs to, from the mirrored directory it sits in (`/` for the
 * staging root) and its name: an upload directory (`...~upload`) or a putContent temp file;
 * undefined for names this driver never creates (and for mirrored directories, which are not an
 * upload of their own).
 */
export function stagedTarget(dir: string, name: string): string | undefined {
  let stem: string;
  if (name.endsWith(UPLOAD_SUFFIX)) stem = name.slice(0, -UPLOAD_SUFFIX.length);
  else {
    const marker = name.lastIndexOf(PUT_MARKER);
    if (marker <= 0) return undefined;
    stem = name.slice(0, marker);
  }
  if (stem === '' || stem.startsWith('~') || stem.endsWith('~') || stem.includes('~~')) return undefined;
  return joinPath(dir, stem.replaceAll('~', '/'));
}
