import assert from 'node:assert/strict';
import {
  ROOT,
  compareWalkOrder,
  joinPath,
  parentPath,
  walkFlat,
  walkTree,
  type FileInfo,
  type FlatListingSource,
  type WalkFn,
  type WalkSource,
} from '@stowage/core';

/** A random tree whose names provoke the key-order/walk-order difference: `a`, `a-b`, `a.b`, `a-b-c`... */
function randomTree(seed: number, files: number): string[] {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const names = ['a', 'a-b', 'a.b', 'a-b-c', 'a0', 'b', 'b.1', 'b-', 'x-y.z', 'x'];
  const paths = new Set<string>();
  // Shallow files can block deeper ones, so stop after a fixed number of attempts.
  for (let attempt = 0; attempt < files * 20 && paths.size < files; attempt++) {
    const depth = 1 + next(4);
    const components = Array.from({ length: depth }, () => names[next(names.length)]!);
    const path = `/${components.join('/')}`;
    // A path cannot be both a file and a directory.
    if ([...paths].some((p) => p.startsWith(`${path}/`) || path.startsWith(`${p}/`))) continue;
    paths.add(path);
  }
  return [...paths];
}

/** Both walk engines over the same set of files: the flat one from a key-ordered listing, the tree one from list+stat. */
function sources(files: string[]): { flat: FlatListingSource; tree: WalkSource; listings: () => number } {
  const time = new Date(0);
  const sorted = [...files].sort(); // key order: plain code-unit order of the paths
  let listings = 0;
  const flat: FlatListingSource = {
    driverName: 'test',
    async *files(dir, startAfter) {
      listings++;
      const prefix = dir === ROOT ? '/' : `${dir}/`;
      for (const path of sorted) {
        if (!path.startsWith(prefix) || (startAfter !== undefined && path <= startAfter)) continue;
        yield { path, size: 1, modTime: time, isDir: false } satisfies FileInfo;
      }
    },
  };
  const dirs = new Set<string>();
  for (const file of files) for (let p = parentPath(file); p !== ROOT; p = parentPath(p)) dirs.add(p);
  const tree: WalkSource = {
    driverName: 'test',
    async children(dir) {
      const all = [...files, ...dirs].filter((p) => parentPath(p) === dir);
      return all;
    },
    async stat(path) {
      return { path, size: dirs.has(path) ? 0 : 1, modTime: time, isDir: dirs.has(path) };
    },
  };
  return { flat, tree, listings: () => listings };
}

async function collect(walk: (fn: WalkFn) => Promise<void>, decide: (info: FileInfo) => 'skip' | 'stop' | void = () => undefined): Promise<string[]> {
  const seen: string[] = [];
  await walk((info) => {
    seen.push(info.isDir ? `${info.path}/` : info.path);
    return decide(info);
  });
  return seen;
}

describe('core: walkFlat (walk over a key-ordered flat listing)', () => {
  it('emits exactly what walkTree emits, in walk order, on trees full of - and . names', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const files = randomTree(seed, 25);
      const { flat, tree } = sources(files);
      const fromFlat = await collect((fn) => walkFlat(flat, ROOT, fn));
      const fromTree = await collect((fn) => walkTree(tree, ROOT, fn));
      assert.deepEqual(fromFlat, fromTree, `seed ${seed}`);
      const plain = fromFlat.map((p) => p.replace(/\/$/, ''));
      assert.deepEqual(plain, [...plain].sort(compareWalkOrder), `seed ${seed}: walk order`);
    }
  });

  it("agrees with walkTree on 'skip', 'stop', startAfterHint and walks below a subdirectory", async () => {
    for (let seed = 41; seed <= 70; seed++) {
      const files = randomTree(seed, 20);
      const { flat, tree } = sources(files);
      const skipDashes = (info: FileInfo) => (info.isDir && info.path.includes('-') ? 'skip' : undefined);
      assert.deepEqual(
        await collect((fn) => walkFlat(flat, ROOT, fn), skipDashes),
        await collect((fn) => walkTree(tree, ROOT, fn), skipDashes),
        `seed ${seed} skip`,
      );
      let count = 0;
      const stopAtFive = () => (++count % 5 === 0 ? 'stop' : undefined);
      const flatStopped = await collect((fn) => walkFlat(flat, ROOT, fn), stopAtFive);
      count = 0;
      assert.deepEqual(flatStopped, await collect((fn) => walkTree(tree, ROOT, fn), stopAtFive), `seed ${seed} stop`);
      const hint = files[seed % files.length]!;
      assert.deepEqual(
        await collect((fn) => walkFlat(flat, ROOT, fn, { startAfterHint: hint })),
        await collect((fn) => walkTree(tree, ROOT, fn, { startAfterHint: hint })),
        `seed ${seed} hint ${hint}`,
      );
      const sub = joinPath('/', files[0]!.split('/')[1]!);
      if (files.some((f) => f.startsWith(`${sub}/`))) {
        assert.deepEqual(await collect((fn) => walkFlat(flat, sub, fn)), await collect((fn) => walkTree(tree, sub, fn)), `seed ${seed} below ${sub}`);
      }
    }
  });

  it('lists once for names without - or . and rejects a missing root with PathNotFoundError', async () => {
    const { flat, listings } = sources(['/r/one/data', '/r/two/link', '/r/three/x/y']);
    const seen = await collect((fn) => walkFlat(flat, '/r', fn));
    assert.deepEqual(seen, ['/r/one/', '/r/one/data', '/r/three/', '/r/three/x/', '/r/three/x/y', '/r/two/', '/r/two/link']);
    assert.equal(listings(), 2, 'one existence check of the root and one listing');
    await assert.rejects(
      walkFlat(flat, '/missing', () => undefined),
      (err: Error) => (err as { code?: string }).code === 'ERR_PATH_NOT_FOUND',
    );
  });
});
