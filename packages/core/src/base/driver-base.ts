import type { Readable } from 'node:stream';
import { inspect, type InspectOptions } from 'node:util';
import { InvalidArgumentError, InvalidOffsetError, InvalidPathError, OperationAbortedError, StorageDriverError, isAborted, isStowageError } from '../errors';
import { ROOT, assertValidPath } from '../paths';
import { throwIfAborted } from '../util/abort';
import { asBuffer } from '../util/bytes';
import { redactEntry } from '../util/redact';
import { walkFallback } from '../walk/walk-fallback';
import { mapSourceErrors, readAll } from './readable';
import type { FileWriterInit } from './file-writer-base';
import type { DriverCapabilities, FileInfo, FileWriter, LeftoverInspector, OpOptions, RedirectOptions, StorageDriver, WalkFn, WalkOptions } from '../types';

const NO_CAPABILITIES: DriverCapabilities = Object.freeze({ redirect: false });

/** True when the driver can list the hidden state it keeps (see LeftoverInspector). */
export function hasLeftovers(driver: StorageDriver): driver is StorageDriver & LeftoverInspector {
  return typeof (driver as Partial<LeftoverInspector>).leftovers === 'function';
}

/** Where an error happened, for drivers mapping their backend's errors. */
export interface ErrorContext {
  operation: string;
  path?: string;
}

/** Thrown through a driver's walk to carry the callback's own error out untouched. */
class WalkCallbackFailure {
  constructor(readonly error: unknown) {}
}

/**
 * The public half of every driver (distribution's `base.Base`, abstract-level's pattern): each
 * public method validates and normalises its arguments, checks the AbortSignal, calls one small
 * protected hook, and maps whatever the hook throws to a typed error naming the driver and path.
 * Hooks therefore receive only valid paths and may throw raw backend errors; `_mapError`
 * translates the ones the driver knows (ENOENT, NoSuchKey, ...) and the rest become
 * StorageDriverError with the original as `cause`.
 */
export abstract class BaseStorageDriver implements StorageDriver {
  abstract readonly name: string;
  /** Nothing beyond the baseline; a driver that gives redirect URLs overrides it. */
  readonly supports: DriverCapabilities = NO_CAPABILITIES;

  // ---- how a driver shows itself: never its credentials ----

  /**
   * What util.inspect and JSON.stringify show of this driver: its name and its own plain settings,
   * with secret-named values redacted and clients, stores and other objects shown by class name.
   * A driver whose credentials live under other names overrides it.
   */
  protected describe(): Record<string, unknown> {
    const shown: Record<string, unknown> = { name: this.name };
    for (const [field, value] of Object.entries(this)) {
      if (field === 'name') continue;
      shown[field] = redactEntry(field, value);
    }
    return shown;
  }

  [inspect.custom](_depth: number, options: InspectOptions): string {
    return `${this.constructor.name} ${inspect(this.describe(), { ...options, depth: 5 })}`;
  }

  toJSON(): Record<string, unknown> {
    return this.describe();
  }

  // ---- hooks a driver implements ----
  protected abstract _reader(path: string, offset: number, opts: OpOptions): Promise<Readable>;
  protected abstract _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter>;
  protected abstract _stat(path: string, opts: OpOptions): Promise<FileInfo>;
  protected abstract _list(path: string, opts: OpOptions): Promise<string[]>;
  protected abstract _move(sourcePath: string, destPath: string, opts: OpOptions): Promise<void>;
  protected abstract _delete(path: string, opts: OpOptions): Promise<void>;
  protected abstract _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number>;

  /**
   * Default: read the whole stream, destroyed when the signal fires so an abort stops the transfer
   * rather than letting it run on unread. Drivers with a cheaper whole-object read override it.
   */
  protected async _getContent(path: string, opts: OpOptions): Promise<Buffer> {
    const source = await this._reader(path, 0, opts);
    if (!opts.signal) return readAll(source);
    return readAll(
      mapSourceErrors(
        source,
        (err) => this.toTypedError(err, { operation: 'getContent', path }, opts.signal),
        opts.signal,
        () => new OperationAbortedError(this.name, { operation: 'getContent', path, cause: opts.signal?.reason }),
      ),
    );
  }

  /** Default: a fresh writer, one write, commit (cancel on failure). */
  protected async _putContent(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    const writer = await this._writer(path, false, opts);
    try {
      await writer.write(content);
      await writer.commit();
    } catch (err) {
      await writer.cancel().catch(() => undefined);
      throw err;
    }
  }

  /** Default: no redirect. */
  protected async _redirectURL(_path: string, _opts: RedirectOptions): Promise<string | null> {
    return null;
  }

  /** Default: list + stat (walkFallback). Drivers with a cheaper listing override it. */
  protected async _walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions): Promise<void> {
    await walkFallback(this, path, fn, opts);
  }

  /** Translate a backend error the driver recognises; return undefined for the rest. */
  protected _mapError(_err: unknown, _context: ErrorContext): Error | undefined {
    return undefined;
  }

  // ---- the public API ----

  getContent(path: string, opts: OpOptions = {}): Promise<Buffer> {
    return this.call('getContent', path, opts, () => this._getContent(path, opts));
  }

  putContent(path: string, content: Uint8Array, opts: OpOptions = {}): Promise<void> {
    return this.call('putContent', path, opts, () => {
      if (!(content instanceof Uint8Array)) {
        throw new InvalidArgumentError(this.name, 'content', 'must be a Uint8Array', { operation: 'putContent', path });
      }
      return this._putContent(path, asBuffer(content), opts);
    });
  }

  reader(path: string, offset = 0, opts: OpOptions = {}): Promise<Readable> {
    return this.call('reader', path, opts, async () => {
      if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(this.name, path, offset, { operation: 'reader' });
      const source = await this._reader(path, offset, opts);
      return mapSourceErrors(
        source,
        (err) => this.toTypedError(err, { operation: 'reader', path }, opts.signal),
        opts.signal,
        () => new OperationAbortedError(this.name, { operation: 'reader', path, cause: opts.signal?.reason }),
      );
    });
  }

  writer(path: string, append = false, opts: OpOptions = {}): Promise<FileWriter> {
    return this.call('writer', path, opts, () => {
      if (typeof append !== 'boolean') throw new InvalidArgumentError(this.name, 'append', 'must be a boolean', { operation: 'writer', path });
      return this._writer(path, append, opts);
    });
  }

  stat(path: string, opts: OpOptions = {}): Promise<FileInfo> {
    return this.call('stat', path, opts, () => this._stat(path, opts), { allowRoot: true });
  }

  list(path: string, opts: OpOptions = {}): Promise<string[]> {
    return this.call('list', path, opts, () => this._list(path, opts), { allowRoot: true });
  }

  move(sourcePath: string, destPath: string, opts: OpOptions = {}): Promise<void> {
    return this.call('move', sourcePath, opts, () => {
      assertValidPath(this.name, destPath, { operation: 'move' });
      return this._move(sourcePath, destPath, opts);
    });
  }

  delete(path: string, opts: OpOptions = {}): Promise<void> {
    if (path === ROOT) return Promise.reject(new InvalidPathError(this.name, path, 'refusing to delete the root', { operation: 'delete' }));
    return this.call('delete', path, opts, () => this._delete(path, opts));
  }

  redirectURL(path: string, opts: RedirectOptions = {}): Promise<string | null> {
    return this.call('redirectURL', path, opts, () => {
      const method = opts.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') throw new InvalidArgumentError(this.name, 'method', 'must be GET or HEAD', { operation: 'redirectURL', path });
      if (opts.expiresIn !== undefined && !(Number.isFinite(opts.expiresIn) && opts.expiresIn > 0)) {
        throw new InvalidArgumentError(this.name, 'expiresIn', 'must be a positive number of seconds', { operation: 'redirectURL', path });
      }
      return this._redirectURL(path, { ...opts, method });
    });
  }

  async walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions = {}): Promise<void> {
    if (typeof fn !== 'function') throw new InvalidArgumentError(this.name, 'fn', 'must be a function', { operation: 'walk', path });
    if (opts.startAfterHint !== undefined) assertValidPath(this.name, opts.startAfterHint, { operation: 'walk' });
    // The callback's own errors must reach the caller as they are, not mapped.
    const guarded: WalkFn = async (info) => {
      try {
        return await fn(info);
      } catch (err) {
        throw new WalkCallbackFailure(err);
      }
    };
    try {
      await this.call('walk', path, opts, () => this._walk(path, guarded, opts), { allowRoot: true, passThrough: (e) => e instanceof WalkCallbackFailure });
    } catch (err) {
      if (err instanceof WalkCallbackFailure) throw err.error;
      throw err;
    }
  }

  purgeUploads(olderThan: Date, opts: OpOptions = {}): Promise<number> {
    return this.call(
      'purgeUploads',
      ROOT,
      opts,
      () => {
        if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) {
          throw new InvalidArgumentError(this.name, 'olderThan', 'must be a valid Date', { operation: 'purgeUploads' });
        }
        return this._purgeUploads(olderThan, opts);
      },
      { allowRoot: true },
    );
  }

  // ---- helpers for drivers ----

  /** What a driver's writer needs from the base: identity, starting size, signal, error mapping. */
  protected writerInit(path: string, size: number, opts: OpOptions): FileWriterInit {
    return {
      driverName: this.name,
      path,
      size,
      signal: opts.signal,
      mapError: (err, operation) => this.toTypedError(err, { operation, path }, opts.signal),
    };
  }

  /** Maps any error to a typed one: typed errors pass, aborts become OperationAbortedError, the rest go through `_mapError`. */
  protected toTypedError(err: unknown, context: ErrorContext, signal?: AbortSignal): Error {
    if (isStowageError(err)) return err;
    if (signal?.aborted || isAborted(err)) {
      return new OperationAbortedError(this.name, { ...context, cause: signal?.reason ?? err });
    }
    return this._mapError(err, context) ?? new StorageDriverError(this.name, err, context);
  }

  private async call<T>(
    operation: string,
    path: string,
    opts: OpOptions,
    body: () => T | Promise<T>,
    options: { allowRoot?: boolean; passThrough?: (err: unknown) => boolean } = {},
  ): Promise<T> {
    assertValidPath(this.name, path, { allowRoot: options.allowRoot, operation });
    throwIfAborted(opts.signal, { driverName: this.name, operation, path });
    try {
      return await body();
    } catch (err) {
      if (options.passThrough?.(err)) throw err;
      throw this.toTypedError(err, { operation, path }, opts.signal);
    }
  }
}
