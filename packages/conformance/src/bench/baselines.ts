import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { once } from 'node:events';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { MiB, PathNotFoundError, type StorageDriver } from '@stowage/core';
import { randomName } from '../data';
import type { Baseline } from './types';

/** Runs a driver through the Baseline interface, so driver and baseline share every line of harness code. */
export function driverAsBaseline(driver: StorageDriver): Baseline {
  return {
    name: driver.name,
    put: (key, content) => driver.putContent(key, content),
    get: (key) => driver.getContent(key),
    async streamWrite(key, chunks) {
      const writer = await driver.writer(key, false);
      try {
        for (const chunk of chunks) await writer.write(chunk);
        await writer.commit();
      } catch (err) {
        await writer.cancel().catch(() => undefined);
        throw err;
      }
    },
    streamRead: (key) => driver.reader(key),
    list: (dir) => driver.list(dir),
    delete: (key) => driver.delete(key),
  };
}

export interface NodeFsBaselineOptions {
  /**
   * Do what a crash-safe store must: write a temporary file with `flush` (fsync before close),
   * rename it into place and fsync the directory. Off by default: the plain baseline is
   * writeFile/createWriteStream straight to the key's file, with no fsync.
   */
  durable?: boolean;
  /** The read stream's highWaterMark; default 1 MiB (Node's default of 64 KiB costs ~25% on large reads). */
  readHighWaterMark?: number;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Raw Node fs under `dir` (created by setup, removed by teardown): mkdir + writeFile / readFile,
 * createWriteStream / createReadStream, readdir, rm. Keys map to `<dir><key>`, as the
 * filesystem driver maps paths under its root.
 */
export function nodeFsBaseline(dir: string, options: NodeFsBaselineOptions = {}): Baseline {
  const durable = options.durable ?? false;
  const readHighWaterMark = options.readHighWaterMark ?? MiB;
  const file = (key: string) => path.join(dir, key);

  /** Writes via `write(target)`; when durable, into a flushed temp file renamed over the key, then syncs the directory. */
  async function store(key: string, write: (target: string) => Promise<void>): Promise<void> {
    const target = file(key);
    const parent = path.dirname(target);
    await fsp.mkdir(parent, { recursive: true });
    if (!durable) return write(target);
    const temp = `${target}.${randomName(8)}.tmp`;
    try {
      await write(temp);
      await fsp.rename(temp, target);
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw err;
    }
    await syncDirectory(parent);
  }

  return {
    name: durable ? 'node:fs (fsync+rename)' : 'node:fs',
    async setup() {
      await fsp.mkdir(dir, { recursive: true });
    },
    async teardown() {
      await fsp.rm(dir, { recursive: true, force: true });
    },
    put: (key, content) => store(key, (target) => fsp.writeFile(target, content, { flush: durable })),
    get: (key) => fsp.readFile(file(key)),
    streamWrite: (key, chunks) =>
      store(key, async (target) => {
        const out = createWriteStream(target, { flush: durable });
        try {
          for (const chunk of chunks) {
            // Respect backpressure, as any real upload path must.
            if (!out.write(chunk)) await once(out, 'drain');
          }
          out.end();
          await finished(out);
        } catch (err) {
          out.destroy();
          throw err;
        }
      }),
    async streamRead(key) {
      const stream = createReadStream(file(key), { highWaterMark: readHighWaterMark });
      // Surface a missing file here, as a driver's reader() does, rather than on the first read.
      await once(stream, 'open');
      return stream;
    },
    async list(key) {
      const names = await fsp.readdir(file(key));
      const prefix = key === '/' ? '' : key;
      return names.map((name) => `${prefix}/${name}`).sort();
    },
    delete: (key) => fsp.rm(file(key), { recursive: true }),
  };
}

export interface BufferBaselineOptions {
  /** Chunk size of streamRead; default 1 MiB. */
  readChunkSize?: number;
}

type BufferTree = Map<string, BufferTree | Buffer>;

/**
 * Buffer copies into Maps, one Map per directory: the raw cost an in-memory driver is compared
 * with. Directories vanish with their last file, as in the drivers.
 */
export function bufferBaseline(options: BufferBaselineOptions = {}): Baseline {
  const readChunkSize = options.readChunkSize ?? MiB;
  const name = 'buffer-copies';
  let root: BufferTree = new Map();
  const notFound = (key: string) => new PathNotFoundError(name, key);
  const components = (key: string) => key.split('/').filter((part) => part.length > 0);

  function lookup(key: string): BufferTree | Buffer | undefined {
    let node: BufferTree | Buffer = root;
    for (const part of components(key)) {
      if (Buffer.isBuffer(node)) return undefined;
      const child: BufferTree | Buffer | undefined = node.get(part);
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  function fileAt(key: string): Buffer {
    const node = lookup(key);
    if (!Buffer.isBuffer(node)) throw notFound(key);
    return node;
  }

  function store(key: string, content: Buffer): void {
    const parts = components(key);
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let child = dir.get(part);
      if (child === undefined || Buffer.isBuffer(child)) {
        child = new Map();
        dir.set(part, child);
      }
      dir = child;
    }
    dir.set(parts[parts.length - 1]!, content);
  }

  return {
    name,
    async teardown() {
      root = new Map();
    },
    async put(key, content) {
      store(key, Buffer.from(content));
    },
    async get(key) {
      // A copy out, as a store that protects its own bytes must hand out.
      return Buffer.from(fileAt(key));
    },
    async streamWrite(key, chunks) {
      const parts: Buffer[] = [];
      let size = 0;
      for (const chunk of chunks) {
        parts.push(Buffer.from(chunk));
        size += chunk.byteLength;
      }
      store(key, Buffer.concat(parts, size));
    },
    async streamRead(key) {
      const content = fileAt(key);
      function* slices(): Generator<Buffer> {
        for (let at = 0; at < content.length; at += readChunkSize) yield content.subarray(at, at + readChunkSize);
      }
      return Readable.from(slices(), { objectMode: false });
    },
    async list(dir) {
      const node = lookup(dir);
      if (node === undefined || Buffer.isBuffer(node)) throw notFound(dir);
      const prefix = dir === '/' ? '' : dir;
      return [...node.keys()].map((child) => `${prefix}/${child}`).sort();
    },
    async delete(key) {
      const parts = components(key);
      if (parts.length === 0) throw new Error(`${name}: refusing to delete the root`);
      const chain: BufferTree[] = [root];
      for (const part of parts.slice(0, -1)) {
        const child = chain[chain.length - 1]!.get(part);
        if (child === undefined || Buffer.isBuffer(child)) throw notFound(key);
        chain.push(child);
      }
      if (!chain[chain.length - 1]!.delete(parts[parts.length - 1]!)) throw notFound(key);
      // Drop directories left empty, as the drivers' directories vanish with their last file.
      for (let depth = chain.length - 1; depth > 0 && chain[depth]!.size === 0; depth--) chain[depth - 1]!.delete(parts[depth - 1]!);
    },
  };
}
