import { Writable } from 'node:stream';
import { InvalidArgumentError, OperationAbortedError, UploadFencedError, WriterStateError, isNotDurable, isStowageError, isUploadFenced } from '../errors';
import { asBuffer } from '../util/bytes';
import type { AsWritableOptions, FileWriter } from '../types';

/**
 * Where a writer is in its life. `fenced`: a newer writer of the same upload took it over; every
 * call then fails with UploadFencedError.
 */
export type WriterState = 'open' | 'closed' | 'committed' | 'cancelled' | 'failed' | 'fenced';

/** What BaseStorageDriver hands a driver's writer: who it is, where it starts, how to map errors. */
export interface FileWriterInit {
  driverName: string;
  path: string;
  /** Bytes already written by earlier sessions (or committed content being appended to). */
  size: number;
  signal?: AbortSignal;
  mapError: (err: unknown, operation: string) => Error;
}

/**
 * The shared half of every driver's FileWriter: it serialises calls, enforces the state machine
 * (write/commit only while open; close idempotent; cancel not after close or commit), keeps
 * `size`, honours the AbortSignal given to `writer()` and maps errors. A driver implements the
 * four protected hooks, which are only ever called one at a time and in a legal state.
 *
 * A failed write or commit leaves the writer `failed`: only close() and cancel() are allowed then,
 * and a later writer(path, true) resumes from whatever the backend actually holds.
 *
 * Fencing (one live writer per upload): a hook that finds its upload taken over by a newer writer
 * throws UploadFencedError; the writer is then `fenced`, `_release()` drops its local resources
 * once, and every later call fails with that error. A commit hook that throws NotDurableError has
 * published the content: the writer is `committed` all the same.
 *
 * A writer reaches its driver through one narrow host interface declared next to the writer and
 * implemented by whoever creates it (usually the driver's upload manager), never through the
 * whole driver or manager class or loose callbacks: the writer then depends on what it uses only,
 * and the manager imports the writer, not the other way round. Writers of numbered parts extend
 * PartedFileWriter.
 */
export abstract class BaseFileWriter implements FileWriter {
  readonly path: string;
  protected readonly driverName: string;
  protected readonly signal: AbortSignal | undefined;
  private readonly mapError: FileWriterInit['mapError'];
  private written: number;
  private current: WriterState = 'open';
  private failure: unknown;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(init: FileWriterInit) {
    this.driverName = init.driverName;
    this.path = init.path;
    this.written = init.size;
    this.signal = init.signal;
    this.mapError = init.mapError;
  }

  get size(): number {
    return this.written;
  }

  get state(): WriterState {
    return this.current;
  }

  /** Appends `chunk`; the caller may reuse its buffer once the promise resolves. */
  protected abstract _write(chunk: Buffer): Promise<void>;
  /** Persists everything written so that writer(path, true) can resume; releases resources. */
  protected abstract _close(): Promise<void>;
  /** Makes the content visible atomically and removes the staged state. */
  protected abstract _commit(): Promise<void>;
  /** Removes the staged state of this upload, earlier sessions included. May follow a failure. */
  protected abstract _cancel(): Promise<void>;
  /**
   * Drops local resources (handles, buffers) of a fenced writer without touching storage, which
   * belongs to the newer writer now. Default: nothing to drop.
   */
  protected async _release(): Promise<void> {}

  write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) {
      return Promise.reject(
        new InvalidArgumentError(this.driverName, 'chunk', `must be a Uint8Array, got ${describe(chunk)}`, { operation: 'write', path: this.path }),
      );
    }
    return this.serialise('write', async () => {
      this.requireOpen('write');
      if (chunk.byteLength === 0) return;
      await this.failOnError('write', () => this._write(asBuffer(chunk)));
      this.written += chunk.byteLength;
    });
  }

  commit(): Promise<void> {
    return this.serialise('commit', async () => {
      this.requireOpen('commit');
      try {
        await this.failOnError('commit', () => this._commit());
      } catch (err) {
        if (isNotDurable(err)) this.current = 'committed';
        throw err;
      }
      this.current = 'committed';
    });
  }

  close(): Promise<void> {
    return this.serialise('close', async () => {
      if (this.current === 'closed' || this.current === 'committed' || this.current === 'cancelled') return;
      this.throwIfFenced('close');
      this.current = 'closed';
      await this.fenceOnError('close', () => this._close());
    });
  }

  cancel(): Promise<void> {
    return this.serialise('cancel', async () => {
      if (this.current === 'cancelled') return;
      if (this.current === 'closed' || this.current === 'committed') {
        throw new WriterStateError(this.driverName, this.path, 'cancel', this.current);
      }
      this.throwIfFenced('cancel');
      await this.fenceOnError('cancel', () => this._cancel());
      this.current = 'cancelled';
    });
  }

  asWritable(options: AsWritableOptions = {}): Writable {
    return writableOf(this, options);
  }

  private requireOpen(operation: string): void {
    this.throwIfFenced(operation);
    if (this.current !== 'open') throw new WriterStateError(this.driverName, this.path, operation, this.current, this.failure);
    if (this.signal?.aborted) {
      throw new OperationAbortedError(this.driverName, { operation, path: this.path, cause: this.signal.reason });
    }
  }

  /** A write or commit hook that fails leaves the writer `failed` (or `fenced`), remembering why. */
  private async failOnError(operation: string, hook: () => Promise<void>): Promise<void> {
    try {
      await hook();
    } catch (err) {
      this.failure = this.toTyped(err, operation);
      this.current = 'failed';
      if (isUploadFenced(this.failure)) await this.becomeFenced();
      throw this.failure;
    }
  }

  /** A close or cancel hook that finds the upload taken over leaves the writer `fenced`. */
  private async fenceOnError(operation: string, hook: () => Promise<void>): Promise<void> {
    try {
      await hook();
    } catch (err) {
      const typed = this.toTyped(err, operation);
      if (isUploadFenced(typed)) {
        this.failure = typed;
        await this.becomeFenced();
      }
      throw typed;
    }
  }

  /** becomeFenced has released the writer's resources already: only the error is left to give. */
  private throwIfFenced(operation: string): void {
    if (this.current === 'fenced') throw new UploadFencedError(this.driverName, this.path, operation, this.failure);
  }

  private async becomeFenced(): Promise<void> {
    this.current = 'fenced';
    await this._release().catch(() => undefined);
  }

  private toTyped(err: unknown, operation: string): Error {
    return isStowageError(err) ? err : this.mapError(err, operation);
  }

  /** Runs `step` after every earlier call has settled, with its errors mapped to typed errors. */
  private serialise(operation: string, step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step).catch((err: unknown) => {
      throw this.toTyped(err, operation);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

/**
 * A Node Writable over any FileWriter's own `write`, `commit` and `close` (so a wrapper that
 * overrides them, e.g. a middleware, sees the streamed bytes too): what `asWritable` returns.
 * When the stream finishes, the writer is committed, closed or left open as `options.onFinish` says.
 */
export function writableOf(writer: Pick<FileWriter, 'write' | 'commit' | 'close'>, options: AsWritableOptions = {}): Writable {
  const onFinish = options.onFinish ?? 'none';
  return new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      writer.write(chunk).then(() => callback(), callback);
    },
    final: (callback) => {
      const done = onFinish === 'commit' ? writer.commit() : onFinish === 'close' ? writer.close() : Promise.resolve();
      done.then(() => callback(), callback);
    },
  });
}
