import type { Readable } from 'node:stream';
import type { DriverCapabilities, FileInfo, FileWriter, OpOptions, RedirectOptions, StorageDriver, WalkFn, WalkOptions } from '../types';

/**
 * Storage middleware (distribution's `middleware/`): a decorator that wraps a driver and
 * forwards every method to it. A middleware extends this class and overrides only the methods it
 * changes. The inner driver already validates its arguments, so decorators need not.
 */
export class DriverDecorator implements StorageDriver {
  constructor(protected readonly inner: StorageDriver) {}

  get name(): string {
    return this.inner.name;
  }

  /** The inner driver's capabilities; a middleware that changes one (e.g. turns redirects off) overrides it. */
  get supports(): DriverCapabilities {
    return this.inner.supports;
  }

  getContent(path: string, opts?: OpOptions): Promise<Buffer> {
    return this.inner.getContent(path, opts);
  }
  putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void> {
    return this.inner.putContent(path, content, opts);
  }
  reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable> {
    return this.inner.reader(path, offset, opts);
  }
  writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter> {
    return this.inner.writer(path, append, opts);
  }
  stat(path: string, opts?: OpOptions): Promise<FileInfo> {
    return this.inner.stat(path, opts);
  }
  list(path: string, opts?: OpOptions): Promise<string[]> {
    return this.inner.list(path, opts);
  }
  move(sourcePath: string, destPath: string, opts?: OpOptions): Promise<void> {
    return this.inner.move(sourcePath, destPath, opts);
  }
  delete(path: string, opts?: OpOptions): Promise<void> {
    return this.inner.delete(path, opts);
  }
  redirectURL(path: string, opts?: RedirectOptions): Promise<string | null> {
    return this.inner.redirectURL(path, opts);
  }
  walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void> {
    return this.inner.walk(path, fn, opts);
  }
  purgeUploads(olderThan: Date, opts?: OpOptions): Promise<number> {
    return this.inner.purgeUploads(olderThan, opts);
  }
}
