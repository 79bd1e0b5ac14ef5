/**
 * Retries calls that failed transiently (`isTransient(err)`: a 5xx, throttling, a timeout, a reset
 * connection) when trying again cannot duplicate or lose data: getContent, stat, list,
 * redirectURL, putContent (it replaces the whole content atomically), delete, opening a reader
 * (not the stream once it flows) and walk (resumed after the last path the callback saw). writer
 * sessions, move (a retry after a move that did happen would fail or, worse, move again) and
 * purgeUploads (its count would be wrong) are never retried.
 *
 * Waits grow exponentially with full jitter (a random wait from 0 to min(maxDelay, baseDelay *
 * 2^(attempt-1)))), within a budget: at most `maxAttempts` attempts and `budget` of waiting in
 * all. The AbortSignal stops a wait at once.
 */
import type { Readable } from 'node:stream';
import {
  DriverDecorator,
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
  private readonly retryable: (err: unknown) => boolean;
  private readonly random: () => number;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;

  constructor(inner: StorageDriver, options: RetryOptions = {}) {
    super(inner);
    this.maxAttempts = integerOption(NAME, 'maxAttempts', options.maxAttempts, { default: 4, min: 1, max: 100 });
    this.baseDelayMs = integerOption(NAME, 'baseDelayMs', options.baseDelayMs, { default: 100, min: 1 });
    this.maxDelayMs = integerOption(NAME, 'maxDelayMs', options.maxDelayMs, { default: 5000, min: this.baseDelayMs });
    this.budgetMs = integerOption(NAME, 'budgetMs', options.budgetMs, { default: 20_000, min: 0 });
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
  override reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable> {
    return this.retry('reader', path, opts, () => this.inner.reader(path, offset, opts));
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
        if (attempt >= this.maxAttempts || signal?.aborted || !this.retryable(err) || (mayRetry && !mayRetry(err))) throw err;
        const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = Math.floor(this.random() * cap);
        if (waited + delayMs > this.budgetMs) throw err;
        waited += delayMs;
        this.onRetry?.({ operation, path, attempt, error: err, delayMs });
        await sleep(delayMs, signal, () => new OperationAbortedError(this.name, { operation, path, cause: signal?.reason }));
      }
    }
  }
}

/** Waits `ms`, or rejects with `aborted()` as soon as the signal fires. */
function sleep(ms: number, signal: AbortSignal | undefined, aborted: () => Error): Promise<void> {
  if (signal?.aborted) return Promise.reject(aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The config.yml factory: `maxattempts`, `basedelay`, `maxdelay` and `budget` (durations such as `100ms`, `5s`). */
export function retryFromConfig(driver: StorageDriver, options: Record<string, unknown>): RetryMiddleware {
  const reader = readOptions(NAME, options, ['maxattempts', 'basedelay', 'maxdelay', 'budget']);
  return reader.construct(
    () =>
      new RetryMiddleware(driver, {
        maxAttempts: reader.optionalInteger('maxattempts'),
        baseDelayMs: reader.has('basedelay') ? durationMs(reader, 'basedelay', 100) : undefined,
        maxDelayMs: reader.has('maxdelay') ? durationMs(reader, 'maxdelay', 5000) : undefined,
        budgetMs: reader.has('budget') ? durationMs(reader, 'budget', 20_000, { allowZero: true }) : undefined,
      }),
    { maxAttempts: 'maxattempts', baseDelayMs: 'basedelay', maxDelayMs: 'maxdelay', budgetMs: 'budget' },
  );
}
