'use strict';
/**
 * Each library of `npm run bench -- --peers` as a Baseline (the interface @stowage/conformance's
 * workloads run on: put/get, streamWrite/streamRead, list, delete), through its public API only:
 * Stowage's driver and the raw Node baseline as `npm run bench` sets them up (scripts/bench/), and
 * OpenDAL's Node binding and flystorage, loaded from this folder's own node_modules.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');
const { Readable } = require('node:stream');
const bench = require('@stowage/conformance/bench');

/** Loads a peer package from scripts/bench-peers/node_modules (see install.js), not from the root install. */
const peerRequire = createRequire(path.join(__dirname, 'package.json'));

const MiB = 1024 * 1024;

/** The installed version of a peer package, for the table. */
function peerVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** A temp directory for a filesystem run, removed by the caller's tearDown. */
function makeTempDir(label) {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), `stowage-bench-peers-${label}-`));
}

/** The workloads' keys are absolute (`/stowage-bench-x/PutGet1MiB/b0/f1`); OpenDAL's paths are relative to its root. */
function relative(key) {
  return key.replace(/^\/+/, '');
}

/**
 * OpenDAL's Operator: write/read whole, writer (write per chunk, close = commit) and reader
 * (createReadStream with 1 MiB reads, as the raw Node baseline reads), list of `dir/` (which
 * lists the directory itself too on fs: left out), removeAll (file or tree, as Stowage's delete).
 */
function opendalTarget(operator, name) {
  return {
    name,
    async put(key, content) {
      await operator.write(relative(key), content);
    },
    get: (key) => operator.read(relative(key)),
    async streamWrite(key, chunks) {
      const writer = await operator.writer(relative(key));
      for (const chunk of chunks) await writer.write(chunk);
      await writer.close();
    },
    async streamRead(key) {
      const reader = await operator.reader(relative(key));
      return reader.createReadStream({ highWaterMark: MiB });
    },
    async list(dir) {
      const self = `${relative(dir)}/`;
      const entries = await operator.list(self);
      return entries
        .map((entry) => entry.path())
        .filter((p) => p !== self)
        .map((p) => `/${p.replace(/\/$/, '')}`)
        .sort();
    },
    delete: (key) => operator.removeAll(relative(key)),
  };
}

/**
 * flystorage's FileStorage: write of a Uint8Array or of a Readable of the chunks (one call: there
 * is no separate commit), readToUint8Array / read (a stream), list (not deep), and delete as
 * fileExists + deleteFile or deleteDirectory: it has no one call that removes a file or a tree.
 */
function flystorageTarget(storage, name) {
  return {
    name,
    put: (key, content) => storage.write(key, content),
    get: (key) => storage.readToUint8Array(key),
    streamWrite: (key, chunks) => storage.write(key, Readable.from(chunks)),
    streamRead: (key) => storage.read(key),
    async list(dir) {
      const keys = [];
      for await (const entry of storage.list(dir, { deep: false })) keys.push(`/${entry.path}`);
      return keys.sort();
    },
    async delete(key) {
      if (await storage.fileExists(key)) await storage.deleteFile(key);
      else await storage.deleteDirectory(key);
    },
  };
}

/** `npm run bench`'s own setup for the driver (scripts/bench/<driver>.js): its driver and its baseline. */
function benchSetUp(task) {
  return require(`../bench/${task.driver}.js`).setUp({ driver: task.driver, driverFsync: task.driverFsync, baselineFsync: task.baselineFsync });
}

/**
 * `setUp(task) -> { target, name, describe, tearDown() }` per library; `task` carries the driver
 * and the fsync flags. `packages` are the peer packages whose versions the table shows.
 */
const SETUPS = {
  stowage: {
    packages: [],
    async setUp(task) {
      const setup = await benchSetUp(task);
      const target = bench.driverAsBaseline(setup.driver);
      const fsync =
        task.driver === 'filesystem' ? `, syncOnCommit ${setup.driver.syncOnCommit ? 'on (temp file, fsync, rename, directory fsync)' : 'off'}` : '';
      const reads = task.driver === 'inmemory' ? '; a stream read hands out fresh 1 MiB copies' : '';
      return {
        target,
        describe: `${setup.driver.constructor.name}${fsync}: putContent/getContent, writer() write per chunk + commit(), reader(), list, delete${reads}`,
        tearDown: () => setup.tearDown(),
      };
    },
  },
  node: {
    packages: [],
    async setUp(task) {
      const setup = await benchSetUp(task);
      const how =
        task.driver === 'filesystem'
          ? 'writeFile/readFile, createWriteStream/createReadStream (1 MiB reads), readdir, rm'
          : 'Buffer copies into Maps, one per directory; get copies out, a stream read hands out 1 MiB views of the stored Buffer (no copy)';
      return { target: setup.baseline, describe: `${setup.baseline.name}: ${how}`, tearDown: () => setup.tearDown() };
    },
  },
  opendal: {
    packages: ['opendal'],
    async setUp(task) {
      const { Operator } = peerRequire('opendal');
      const calls = 'write/read, writer() write per chunk + close(), reader().createReadStream (1 MiB reads), list, removeAll';
      if (task.driver === 'inmemory') {
        return {
          target: opendalTarget(new Operator('memory'), 'opendal memory'),
          describe: `new Operator('memory'): ${calls}`,
          tearDown: async () => undefined,
        };
      }
      const root = await makeTempDir('opendal');
      return {
        target: opendalTarget(new Operator('fs', { root }), 'opendal fs'),
        describe: `new Operator('fs', { root }): ${calls}; writes the file in place and fsyncs it on close (no temp file, no rename, no directory fsync)`,
        tearDown: () => fs.promises.rm(root, { recursive: true, force: true }),
      };
    },
  },
  flystorage: {
    packages: ['@flystorage/file-storage', '@flystorage/in-memory', '@flystorage/local-fs'],
    async setUp(task) {
      const { FileStorage } = peerRequire('@flystorage/file-storage');
      const calls =
        'write (Uint8Array, or a Readable of the chunks: one call, no separate commit), readToUint8Array / read (stream), list, ' +
        'fileExists + deleteFile or deleteDirectory';
      if (task.driver === 'inmemory') {
        const { InMemoryStorageAdapter } = peerRequire('@flystorage/in-memory');
        return {
          target: flystorageTarget(new FileStorage(new InMemoryStorageAdapter()), 'flystorage in-memory'),
          describe: `new FileStorage(new InMemoryStorageAdapter()): ${calls}; one flat Map, which list and deleteDirectory scan whole; a stream read copies the whole file into one new Buffer`,
          tearDown: async () => undefined,
        };
      }
      const { LocalStorageAdapter } = peerRequire('@flystorage/local-fs');
      const root = await makeTempDir('flystorage');
      return {
        target: flystorageTarget(new FileStorage(new LocalStorageAdapter(root)), 'flystorage local-fs'),
        describe: `new FileStorage(new LocalStorageAdapter(root)): ${calls}; writes through createWriteStream in place, no fsync`,
        tearDown: () => fs.promises.rm(root, { recursive: true, force: true }),
      };
    },
  },
};

module.exports = { SETUPS, peerVersion };
