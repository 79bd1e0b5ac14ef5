/**
 * Retries calls that failed transiently (`isTransient(err)`: a 5xx, throttling, a timeout, a reset
 * connection) when trying again cannot duplicate or lose data: getContent, stat, list,
 * redirectURL, putContent (it replaces the whole content atomically), delete, opening a reader,
 * a reader's stream cut short (resumed where it stopped, see `reader`) and walk (resumed after the
 * last path the callback saw). writer
 * sessions, move (a retry after a move that did happen would fail or, worse, move again) and
 * purgeUploads (its count would be wrong) are never retried.
 *
 * Waits grow exponentially with full jitter (a random wait from 0 to min(maxDelay, baseDelay *
 * 2^(attempt-1)))), within a budget: at most `maxAttempts` attempts and `budget` of waiting in
 * all. The AbortSignal stops a wait at once.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DriverDecorator,
  InvalidParameterError,
  OperationAbortedError,
  integerOption,
  isPathNotFound,
  isTransient,
  type FileInfo,
  type OpOptions,
  type RedirectOptions,
  type StorageDriver,
  type WalkFn,
  type WalkOptions,
  type WalkResult,
} from '@stowage/core';
import { abortableWait } from './wait';
import { durationMs, readOptions } from './options';

/** Options of {@link RetryMiddleware}. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 4); 1 turns retrying off. */
  maxAttempts?: number;
  /** The cap of the first wait, in ms (default 100); each next cap doubles. */
  baseDelayMs?: number;
  /** The largest cap of one wait, in ms (default 5000). */
  maxDelayMs?: number;
  /** The most waiting in all for one call, in ms (default 20000): a wait that would pass it is not started. */
  budgetMs?: number;
  /**
   * Resume a reader's stream that fails transiently, where it stopped (default true). A resume
   * first reads the part already delivered again and goes on only if it is the same bytes.
   */
  resumeReads?: boolean;
  /** Which errors to retry; default `isTransient`. */
  retryable?: (err: unknown) => boolean;
  /** A source of numbers in [0, 1) for the jitter (default Math.random), e.g. seeded for tests. */
  random?: () => number;
  /** Told before each wait: the operation, the attempt that failed (1-based), its error and the wait in ms. */
  onRetry?: (event: RetryEvent) => void;
}

/** What {@link RetryOptions.onRetry} is told. */
export interface RetryEvent {
  operation: string;
  path?: string;
  attempt: number;
  error: unknown;
  delayMs: number;
}

const NAME = 'retry';

/** See the module comment. */
export class RetryMiddleware extends DriverDecorator {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly budgetMs: number;
  readonly resumeReads: boolean;
  private readonly retryable: (err: unknown) => boolean;
  private readonly random: () => number;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;

  constructor(inner: StorageDriver, options: RetryOptions = {}) {
    super(inner);
    this.maxAttempts = integerOption(NAME, 'maxAttempts', options.maxAttempts, { default: 4, min: 1, max: 100 });
    this.baseDelayMs = integerOption(NAME, 'baseDelayMs', options.baseDelayMs, { default: 100, min: 1 });
    this.maxDelayMs = integerOption(NAME, 'maxDelayMs', options.maxDelayMs, { default: 5000, min: this.baseDelayMs });
    this.budgetMs = integerOption(NAME, 'budgetMs', options.budgetMs, { default: 20_000, min: 0 });
    if (options.resumeReads !== undefined && typeof options.resumeReads !== 'boolean') {
      throw new InvalidParameterError(NAME, 'resumeReads', 'must be true or false');
    }
    this.resumeReads = options.resumeReads ?? true;
    this.retryable = options.retryable ?? isTransient;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
  }

  override getContent(path: string, opts?: OpOptions): Promise<Buffer> {
    return this.retry('getContent', path, opts, () => this.inner.getContent(path, opts));
  }
  override putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void> {
    return this.retry('putContent', path, opts, () => this.inner.putContent(path, content, opts));
  }
  /**
   * Opening is retried like any read. A stream that then fails transiently is opened again at
   * `offset`, within the same attempts and budget, and goes on where it stopped only if the part
   * already delivered reads back the same bytes: the driver API has no version to pin, and a file
   * replaced meanwhile must fail the read rather than splice two contents. That check costs one
   * more read of the delivered part, paid only when a stream is cut.
   */
  override async reader(path: string, offset = 0, opts?: OpOptions): Promise<Readable> {
    const open = () => this.retry('reader', path, opts, () => this.inner.reader(path, offset, opts));
    const first = await open();
    if (!this.resumeReads) return first;
    // The generator iterates `first` only once the caller reads; a cut before that (the caller
    // awaits something else first) would be an 'error' nobody listens to, an uncaught exception.
    // Its iteration still throws that error (kept in `errored`), which resumes the read.
    first.on('error', () => undefined);
    return Readable.from(this.resumingChunks(path, opts, first, open), { objectMode: false });
  }

  private async *resumingChunks(path: string, opts: OpOptions | undefined, first: Readable, open: () => Promise<Readable>): AsyncGenerator<Buffer> {
    let stream: Readable | undefined = first;
    let delivered = 0;
    const hash = createHash('sha256');
    let waited = 0;
    let cut: unknown; // the failure being recovered from, thrown as it was if the file changed meanwhile
    for (let attempt = 1; ; attempt++) {
      try {
        // A resumed stream starts at `offset` again: its first `skip` bytes must be the ones delivered.
        let skip = 0;
        let expected = '';
        const check = createHash('sha256');
        if (!stream) {
          stream = await open();
          skip = delivered;
          expected = hash.copy().digest('hex');
        }
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          let piece = chunk;
          if (skip > 0) {
            const head = piece.subarray(0, skip);
            check.update(head);
            skip -= head.length;
            if (skip === 0 && check.digest('hex') !== expected) throw new ChangedDuringRead();
            piece = piece.subarray(head.length);
            if (piece.length === 0) continue;
          }
          delivered += piece.length;
          hash.update(piece);
          yield piece;
        }
        if (skip > 0) throw new ChangedDuringRead(); // it ended inside the part delivered: the file shrank
        return;
      } catch (err) {
        if (err instanceof ChangedDuringRead) throw cut;
        stream?.destroy();
        stream = undefined;
        const delayMs = this.nextDelay(attempt, err, opts?.signal, waited);
        if (delayMs === undefined) throw err;
        cut = err;
        waited += delayMs;
        this.onRetry?.({ operation: 'readerStream', path, attempt, error: err, delayMs });
        await abortableWait(delayMs, opts?.signal, () => new OperationAbortedError(this.name, { operation: 'reader', path, cause: opts?.signal?.reason }));
      }
    }
  }

  override stat(path: string, opts?: OpOptions): Promise<FileInfo> {
    return this.retry('stat', path, opts, () => this.inner.stat(path, opts));
  }
  override list(path: string, opts?: OpOptions): Promise<string[]> {
    return this.retry('list', path, opts, () => this.inner.list(path, opts));
  }
  override redirectURL(path: string, opts?: RedirectOptions): Promise<string | null> {
    return this.retry('redirectURL', path, opts, () => this.inner.redirectURL(path, opts));
  }

  /**
   * A delete retried after a transient failure that then finds nothing resolves: the failed
   * attempt may have deleted the path before its answer was lost.
   */
  override delete(path: string, opts?: OpOptions): Promise<void> {
    let attempts = 0;
    return this.retry('delete', path, opts, async () => {
      attempts++;
      try {
        await this.inner.delete(path, opts);
      } catch (err) {
        if (attempts > 1 && isPathNotFound(err)) return;
        throw err;
      }
    });
  }

  /**
   * A walk that fails transiently goes on after the last path its callback saw (startAfterHint),
   * so the callback never sees a path twice. It is not retried after the callback skipped a
   * directory (the hint cannot say "after this subtree"), nor when the callback itself threw.
   */
  override walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void> {
    let last: { path: string; result: WalkResult } | undefined;
    const callbackErrors = new Set<unknown>();
    const tracked: WalkFn = async (info) => {
      let result: WalkResult;
      try {
        result = await fn(info);
      } catch (err) {
        callbackErrors.add(err);
        throw err;
      }
      last = { path: info.path, result };
      return result;
    };
    return this.retry(
      'walk',
      path,
      opts,
      () => this.inner.walk(path, tracked, last ? { ...opts, startAfterHint: last.path } : opts),
      (err) => !callbackErrors.has(err) && last?.result !== 'skip',
    );
  }

  /** The wait before attempt `attempt + 1` after `err`, or undefined when it must not be retried (attempts, budget, abort, kind). */
  private nextDelay(attempt: number, err: unknown, signal: AbortSignal | undefined, waited: number): number | undefined {
    if (attempt >= this.maxAttempts || signal?.aborted || !this.retryable(err)) return undefined;
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    const delayMs = Math.floor(this.random() * cap);
    return waited + delayMs > this.budgetMs ? undefined : delayMs;
  }

  private async retry<T>(
    operation: string,
    path: string,
    opts: OpOptions | undefined,
    call: () => Promise<T>,
    mayRetry?: (err: unknown) => boolean,
  ): Promise<T> {
    const signal = opts?.signal;
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const delayMs = mayRetry && !mayRetry(err) ? undefined : this.nextDelay(attempt, err, signal, waited);
        if (delayMs === undefined) throw err;
        waited += delayMs;
        this.onRetry?.({ operation, path, attempt, error: err, delayMs });
        await abortableWait(delayMs, signal, () => new OperationAbortedError(this.name, { operation, path, cause: signal?.reason }));
      }
    }
  }
}

/** A resumed read found the part already delivered changed: the file was replaced meanwhile. */
class ChangedDuringRead extends Error {}

/** The config.yml factory: `maxattempts`, `basedelay`, `maxdelay` and `budget` (durations such as `100ms`, `5s`), `resumereads` (true or false). */
export function retryFromConfig(driver: StorageDriver, options: Record<string, unknown>): RetryMiddleware {
  const reader = readOptions(NAME, options, ['maxattempts', 'basedelay', 'maxdelay', 'budget', 'resumereads']);
  return reader.construct(
    () =>
      new RetryMiddleware(driver, {
        maxAttempts: reader.optionalInteger('maxattempts'),
        baseDelayMs: reader.has('basedelay') ? durationMs(reader, 'basedelay', 100) : undefined,
        maxDelayMs: reader.has('maxdelay') ? durationMs(reader, 'maxdelay', 5000) : undefined,
        budgetMs: reader.has('budget') ? durationMs(reader, 'budget', 20_000, { allowZero: true }) : undefined,
        resumeReads: reader.boolean('resumereads', true),
      }),
    { maxAttempts: 'maxattempts', baseDelayMs: 'basedelay', maxDelayMs: 'maxdelay', budgetMs: 'budget', resumeReads: 'resumereads' },
  );
}
