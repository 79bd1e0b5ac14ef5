/**
 * distribution's `regulator` (its filesystem driver's `maxthreads`), for every driver: at most N
 * calls into the wrapped driver at once; the rest wait in order. A reader holds its slot until its
 * stream ends (read to the end, failed or destroyed) and a writer until its session ends (commit,
 * close or cancel settles, or a write fails), so N bounds open streams too. A walk holds a slot
 * only while the driver works, not while the callback runs, so a callback may call the driver.
 */
import { finished, type Readable } from 'node:stream';
import {
  DriverDecorator,
  OperationAbortedError,
  integerOption,
  type FileInfo,
  type FileWriter,
  type OpOptions,
  type RedirectOptions,
  type StorageDriver,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { readOptions } from './options';
import { ForwardingWriter } from './writer';

/** Options of {@link RegulatorMiddleware}. */
export interface RegulatorOptions {
  /** The most calls, open readers and open writers at once; distribution's `maxthreads`. Default 100. */
  maxConcurrency?: number;
}

const NAME = 'regulator';

/** See the module comment: bounds concurrent calls, open readers and open writers. */
export class RegulatorMiddleware extends DriverDecorator {
  /** The bound in force. */
  readonly maxConcurrency: number;
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(inner: StorageDriver, options: RegulatorOptions = {}) {
    super(inner);
    this.maxConcurrency = integerOption(NAME, 'maxConcurrency', options.maxConcurrency, { default: 100, min: 1 });
  }

  /** Calls, readers and writers holding a slot now. */
  get active(): number {
    return this.running;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  override getContent(path: string, opts?: OpOptions): Promise<Buffer> {
    return this.run('getContent', path, opts, () => this.inner.getContent(path, opts));
  }
  override putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void> {
    return this.run('putContent', path, opts, () => this.inner.putContent(path, content, opts));
  }
  override stat(path: string, opts?: OpOptions): Promise<FileInfo> {
    return this.run('stat', path, opts, () => this.inner.stat(path, opts));
  }
  override list(path: string, opts?: OpOptions): Promise<string[]> {
    return this.run('list', path, opts, () => this.inner.list(path, opts));
  }
  override move(sourcePath: string, destPath: string, opts?: OpOptions): Promise<void> {
    return this.run('move', sourcePath, opts, () => this.inner.move(sourcePath, destPath, opts));
  }
  override delete(path: string, opts?: OpOptions): Promise<void> {
    return this.run('delete', path, opts, () => this.inner.delete(path, opts));
  }
  override redirectURL(path: string, opts?: RedirectOptions): Promise<string | null> {
    return this.run('redirectURL', path, opts, () => this.inner.redirectURL(path, opts));
  }
  override purgeUploads(olderThan: Date, opts?: OpOptions): Promise<number> {
    return this.run('purgeUploads', undefined, opts, () => this.inner.purgeUploads(olderThan, opts));
  }

  override async reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable> {
    const release = await this.acquire('reader', path, opts);
    let stream: Readable;
    try {
      stream = await this.inner.reader(path, offset, opts);
    } catch (err) {
      release();
      throw err;
    }
    finished(stream, { writable: false }, () => release());
    return stream;
  }

  override async writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter> {
    const release = await this.acquire('writer', path, opts);
    try {
      return new ForwardingWriter(await this.inner.writer(path, append, opts), release);
    } catch (err) {
      release();
      throw err;
    }
  }

  override async walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void> {
    let release = await this.acquire('walk', path, opts);
    // The slot is given back while the callback runs and taken again after it.
    const regulated: WalkFn = async (info) => {
      release();
      try {
        return await fn(info);
      } finally {
        release = await this.acquire('walk', path, opts).catch((err: unknown) => {
          release = () => undefined;
          throw err;
        });
      }
    };
    try {
      await this.inner.walk(path, regulated, opts);
    } finally {
      release();
    }
  }

  private async run<T>(operation: string, path: string | undefined, opts: OpOptions | undefined, call: () => Promise<T>): Promise<T> {
    const release = await this.acquire(operation, path, opts);
    try {
      return await call();
    } finally {
      release();
    }
  }

  /** Waits for a slot (or rejects as soon as the signal fires); the function returned gives it back, once. */
  private acquire(operation: string, path: string | undefined, opts: OpOptions | undefined): Promise<() => void> {
    const signal = opts?.signal;
    const aborted = () => new OperationAbortedError(this.name, { operation, path, cause: signal?.reason });
    if (signal?.aborted) return Promise.reject(aborted());
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    };
    if (this.running < this.maxConcurrency) {
      this.running++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const index = this.queue.indexOf(grant);
        if (index >= 0) this.queue.splice(index, 1);
        reject(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(grant);
    });
  }
}

/** The config.yml factory: `maxthreads` (default 100, at least 1). */
export function regulatorFromConfig(driver: StorageDriver, options: Record<string, unknown>): RegulatorMiddleware {
  const reader = readOptions(NAME, options, ['maxthreads']);
  return reader.construct(() => new RegulatorMiddleware(driver, { maxConcurrency: reader.optionalInteger('maxthreads') }), { maxConcurrency: 'maxthreads' });
}
