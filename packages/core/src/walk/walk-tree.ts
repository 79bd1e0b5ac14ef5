import { throwIfAborted } from '../util/abort';
import { compareWalkOrder } from './order';
import type { FileInfo, OpOptions, WalkFn, WalkOptions } from '../types';

/** Where a walk gets its entries from: a driver's listing and stat, however it does them. */
export interface WalkSource {
  readonly driverName: string;
  /**
   * The paths of the direct children of `dir`, in any order. For the walk's own root a missing
   * directory is the source's call (usually PathNotFoundError); for a directory below it, return
   * undefined when it has vanished since it was seen, and the walk passes over it.
   */
  children(dir: string, isWalkRoot: boolean): Promise<string[] | undefined>;
  /** The entry at `path`, or undefined if it vanished since it was listed. */
  stat(path: string): Promise<FileInfo | undefined>;
}

export interface WalkTreeTuning {
  /** How many stats run ahead of the callback (the callback itself always runs in order). Default 1. */
  statAhead?: number;
}

/**
 * The walk every driver without a flat listing shares: depth first, children in walk order,
 * 'skip' on a directory skips its subtree, 'stop' ends the walk, and startAfterHint skips
 * everything up to and including the hint in walk order (descending, without emitting, into the
 * hint and its ancestors, whose descendants and later siblings come after it). The signal is
 * checked before every callback.
 */
export async function walkTree(source: WalkSource, root: string, fn: WalkFn, opts: WalkOptions & OpOptions = {}, tuning: WalkTreeTuning = {}): Promise<void> {
  const { startAfterHint: hint, signal } = opts;
  const statAhead = Math.max(1, tuning.statAhead ?? 1);
  const checkSignal = (path: string) => throwIfAborted(signal, { driverName: source.driverName, operation: 'walk', path });
  const beforeHint = (path: string) => hint !== undefined && compareWalkOrder(path, hint) <= 0;

  const walkDirectory = async (dir: string): Promise<'stop' | undefined> => {
    checkSignal(dir);
    const listed = await source.children(dir, dir === root);
    if (listed === undefined) return undefined;
    // Before the hint only the hint itself and its ancestors can lead to later paths.
    const children = listed.sort(compareWalkOrder).filter((child) => !beforeHint(child) || child === hint || hint!.startsWith(`${child}/`));
    const stats = new Prefetcher(children, (path) => source.stat(path), statAhead);
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      const info = await stats.get(i);
      checkSignal(child);
      if (info === undefined) continue;
      if (beforeHint(child)) {
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

/** Keeps up to `window` lookups in flight ahead of the one asked for. */
class Prefetcher<T> {
  private readonly pending = new Map<number, Promise<T>>();

  constructor(
    private readonly keys: readonly string[],
    private readonly lookup: (key: string) => Promise<T>,
    private readonly window: number,
  ) {}

  get(index: number): Promise<T> {
    for (let i = index; i < Math.min(this.keys.length, index + this.window); i++) {
      if (this.pending.has(i)) continue;
      const result = this.lookup(this.keys[i]!);
      result.catch(() => undefined); // a 'stop' or an error may leave it unawaited
      this.pending.set(i, result);
    }
    const result = this.pending.get(index)!;
    this.pending.delete(index);
    return result;
  }
}
