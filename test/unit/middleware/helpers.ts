/** A scripted driver for the middleware tests: the in-memory driver, with failures and pauses on demand. */
import type { Readable } from 'node:stream';
import {
  DriverDecorator,
  StorageDriverError,
  type FileInfo,
  type FileWriter,
  type OpOptions,
  type RedirectOptions,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { InMemoryDriver } from '@stowage/inmemory';

/** A transient backend failure as a driver's mapping would give it. */
export function transientError(operation: string, path?: string): StorageDriverError {
  return new StorageDriverError('inmemory', new Error('HTTP 503 Slow Down'), { operation, path, transient: true });
}

/**
 * The in-memory driver, counting calls per operation and how many run at once; `failNext`
 * makes the next calls of an operation throw, `delayMs` makes every call take that long.
 */
export class ScriptedDriver extends DriverDecorator {
  readonly calls: Record<string, number> = {};
  running = 0;
  maxRunning = 0;
  delayMs = 0;
  private readonly failures = new Map<string, Array<() => unknown>>();

  constructor(readonly memory = new InMemoryDriver()) {
    super(memory);
  }

  /** The next `count` calls of `operation` throw what `make` returns (default a transient error). */
  failNext(operation: string, count: number, make: () => unknown = () => transientError(operation)): void {
    const queue = this.failures.get(operation) ?? [];
    for (let i = 0; i < count; i++) queue.push(make);
    this.failures.set(operation, queue);
  }

  override getContent(path: string, opts?: OpOptions): Promise<Buffer> {
    return this.call('getContent', () => this.inner.getContent(path, opts));
  }
  override putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void> {
    return this.call('putContent', () => this.inner.putContent(path, content, opts));
  }
  override reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable> {
    return this.call('reader', () => this.inner.reader(path, offset, opts));
  }
  override writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter> {
    return this.call('writer', () => this.inner.writer(path, append, opts));
  }
  override stat(path: string, opts?: OpOptions): Promise<FileInfo> {
    return this.call('stat', () => this.inner.stat(path, opts));
  }
  override list(path: string, opts?: OpOptions): Promise<string[]> {
    return this.call('list', () => this.inner.list(path, opts));
  }
  override move(sourcePath: string, destPath: string, opts?: OpOptions): Promise<void> {
    return this.call('move', () => this.inner.move(sourcePath, destPath, opts));
  }
  override delete(path: string, opts?: OpOptions): Promise<void> {
    return this.call('delete', () => this.inner.delete(path, opts));
  }
  override redirectURL(path: string, opts?: RedirectOptions): Promise<string | null> {
    return this.call('redirectURL', async () => (await this.inner.stat(path, opts), `https://store.example.test/bucket${path}?sig=abc`));
  }
  override walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void> {
    return this.call('walk', () => this.inner.walk(path, fn, opts));
  }
  override purgeUploads(olderThan: Date, opts?: OpOptions): Promise<number> {
    return this.call('purgeUploads', () => this.inner.purgeUploads(olderThan, opts));
  }

  private async call<T>(operation: string, body: () => Promise<T>): Promise<T> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const failure = this.failures.get(operation)?.shift();
      if (failure) throw failure();
      return await body();
    } finally {
      this.running--;
    }
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` is still pending after the event loop has had a few turns. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const result = await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    sleep(20).then(() => marker),
  ]);
  return result === marker;
}
