/**
 * Walk over a flat, key-ordered listing (S3 ListObjectsV2, OSS ListObjects, Azure flat listing):
 * a thousand files per request instead of one request per directory.
 *
 * Key order is not walk order. Walk order visits all of `/a` before its sibling `/a-b`, but keys
 * put `a-b...` before `a/...` because `-` and `.` sort below `/`. So whenever the listing reaches
 * a name with a `-` or `.` in it, the walk first asks whether the directory named by the part
 * before that character exists (a one-key listing, asked once per candidate); if it does, that
 * subtree is walked right there and skipped when the main listing gets to it. Names without `-`
 * or `.` (digests, `data`, `link`) cost nothing extra.
 */
import { PathNotFoundError } from '../errors';
import { ROOT } from '../paths';
import { throwIfAborted } from '../util/abort';
import { compareWalkOrder } from './order';
import type { FileInfo, OpOptions, WalkFn, WalkOptions } from '../types';

export interface FlatListingSource {
  readonly driverName: string;
  /**
   * Every file below directory `dir` at any depth, in byte order of path, starting after the path
   * `startAfter` when given (which may not exist). Hidden and invalid names are already left out.
   */
  files(dir: string, startAfter: string | undefined, opts: OpOptions): AsyncIterable<FileInfo>;
}

/** A path greater, in key order, than every path below `dir` (`~` sorts above every valid character). */
function pastSubtree(dir: string): string {
  return `${dir}/~`;
}

function joinChild(dir: string, name: string): string {
  return dir === ROOT ? `/${name}` : `${dir}/${name}`;
}

/** The names `n` that sort after directory `n/` in key order but before it in walk order. */
function shadowedDirectoryNames(name: string): string[] {
  const names: string[] = [];
  for (let i = 1; i < name.length; i++) {
    if (name[i] === '-' || name[i] === '.') names.push(name.slice(0, i));
  }
  return names;
}

type Outcome = 'stop' | undefined;

export async function walkFlat(source: FlatListingSource, root: string, fn: WalkFn, opts: WalkOptions & OpOptions = {}): Promise<void> {
  const { startAfterHint: hint, signal } = opts;
  const checkSignal = (path: string) => throwIfAborted(signal, { driverName: source.driverName, operation: 'walk', path });
  const beforeHint = (path: string) => hint !== undefined && compareWalkOrder(path, hint) <= 0;
  // Candidate directories already asked about, so each costs one listing per walk.
  const probed = new Set<string>();

  /** The first file below `dir`, if any: whether the directory exists. */
  const firstFile = async (dir: string): Promise<FileInfo | undefined> => {
    for await (const file of source.files(dir, undefined, { signal })) return file;
    return undefined;
  };

  /** Emits the directory `dir` (unless before the hint) and, unless skipped, everything below it. */
  const visitDirectory = async (dir: string, modTime: Date): Promise<Outcome> => {
    checkSignal(dir);
    if (beforeHint(dir)) {
      return hint!.startsWith(`${dir}/`) ? walkBelow(dir) : undefined;
    }
    const decision = await fn({ path: dir, size: 0, modTime, isDir: true });
    if (decision === 'stop') return 'stop';
    return decision === 'skip' ? undefined : walkBelow(dir);
  };

  /** Emits the descendants of `dir` in walk order. */
  const walkBelow = async (dir: string): Promise<Outcome> => {
    // Directories below `dir` already walked out of key order, to be skipped when the listing reaches them.
    const walkedEarly = new Set<string>();
    // The chain of directories the listing is currently inside, below `dir`.
    const open: string[] = [];
    let startAfter: string | undefined;
    for (;;) {
      let restartAfter: string | undefined;
      listing: for await (const file of source.files(dir, startAfter, { signal })) {
        const names = (dir === ROOT ? file.path.slice(1) : file.path.slice(dir.length + 1)).split('/');
        let entry = dir;
        for (let level = 0; level < names.length; level++) {
          const parent = entry;
          entry = joinChild(parent, names[level]!);
          if (open[level] === entry) continue;
          open.length = level;
          checkSignal(entry);
          for (const shadowed of shadowedDirectoryNames(names[level]!)) {
            const candidate = joinChild(parent, shadowed);
            if (probed.has(candidate)) continue;
            const first = await firstFile(candidate);
            probed.add(candidate);
            if (first === undefined) continue;
            walkedEarly.add(candidate);
            if ((await visitDirectory(candidate, first.modTime)) === 'stop') return 'stop';
          }
          const isDir = level < names.length - 1;
          if (!isDir) {
            if (!beforeHint(entry) && (await fn(file)) === 'stop') return 'stop';
            continue;
          }
          if (walkedEarly.has(entry)) {
            restartAfter = pastSubtree(entry);
            break listing;
          }
          if (beforeHint(entry)) {
            if (hint!.startsWith(`${entry}/`)) {
              open.push(entry);
              continue;
            }
            restartAfter = pastSubtree(entry);
            break listing;
          }
          const decision = await fn({ path: entry, size: 0, modTime: file.modTime, isDir: true });
          if (decision === 'stop') return 'stop';
          if (decision === 'skip') {
            restartAfter = pastSubtree(entry);
            break listing;
          }
          open.push(entry);
        }
      }
      if (restartAfter === undefined) return undefined;
      startAfter = restartAfter;
    }
  };

  checkSignal(root);
  if (root !== ROOT && (await firstFile(root)) === undefined) {
    throw new PathNotFoundError(source.driverName, root, { operation: 'walk' });
  }
  await walkBelow(root);
}
