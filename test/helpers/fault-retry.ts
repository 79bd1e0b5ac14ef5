/**
 * A stand-in for @stowage/middleware's retry, for the fault runs until it is merged: it retries the
 * read calls the drivers do not retry themselves when a response body is cut short (getContent,
 * stat, list, and a reader's stream, resumed at the offset it reached), and counts what it retried
 * by method, which is the list of calls that need the middleware.
 *
 * Only reads: a write, commit or move is never repeated here. A reader is resumed only after the
 * part already delivered reads back the same (the driver API has no version to pin; a real
 * middleware or the driver would resume with If-Match on the ETag instead).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriverDecorator, ErrorCode, type FileInfo, type OpOptions, type StorageDriver } from '@stowage/core';

const MAX_ATTEMPTS = 5;

/** Retries by method name. */
export type RetryCounts = Record<string, number>;

/** Transient: a backend failure without a better type, or an abort nobody asked for (a cut body on some SDKs). */
function isRetryable(err: unknown, opts: OpOptions | undefined): boolean {
  if (opts?.signal?.aborted) return false;
  const code = (err as { code?: unknown } | null)?.code;
  return code === ErrorCode.StorageDriver || code === ErrorCode.Aborted;
}

function backoff(attempt: number): Promise<void> {
  return sleep(Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
}

class RetryStandIn extends DriverDecorator {
  constructor(
    inner: StorageDriver,
    private readonly counts: RetryCounts,
  ) {
    super(inner);
  }

  private async retry<T>(method: string, opts: OpOptions | undefined, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(err, opts)) throw err;
        this.counts[method] = (this.counts[method] ?? 0) + 1;
        await backoff(attempt);
      }
    }
  }

  override getContent(path: string, opts?: OpOptions): Promise<Buffer> {
    return this.retry('getContent', opts, () => this.inner.getContent(path, opts));
  }

  override stat(path: string, opts?: OpOptions): Promise<FileInfo> {
    return this.retry('stat', opts, () => this.inner.stat(path, opts));
  }

  override list(path: string, opts?: OpOptions): Promise<string[]> {
    return this.retry('list', opts, () => this.inner.list(path, opts));
  }

  override async reader(path: string, offset = 0, opts?: OpOptions): Promise<Readable> {
    const open = (at: number) => this.retry('reader', opts, () => this.inner.reader(path, at, opts));
    const first = await open(offset);
    const counts = this.counts;
    async function* resuming(): AsyncGenerator<Buffer> {
      let stream = first;
      let position = offset;
      const delivered = createHash('sha256');
      for (let attempt = 1; ; attempt++) {
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            position += chunk.length;
            delivered.update(chunk);
            yield chunk;
          }
          return;
        } catch (err) {
          if (attempt >= MAX_ATTEMPTS || !isRetryable(err, opts)) throw err;
          counts['reader stream'] = (counts['reader stream'] ?? 0) + 1;
          await backoff(attempt);
          // No version check through the driver API: read the delivered part again and go on only
          // when it is the same bytes (the object was not rewritten meanwhile), else fail as it failed.
          const again = await open(offset);
          if (!(await startsWith(again, position - offset, delivered.copy().digest('hex')))) throw err;
          stream = again;
        }
      }
    }
    return Readable.from(resuming(), { objectMode: false });
  }
}

/** Consumes exactly `length` bytes of `stream` (which then continues after them) and says whether their sha256 is `expected`. */
async function startsWith(stream: Readable, length: number, expected: string): Promise<boolean> {
  const hash = createHash('sha256');
  let remaining = length;
  while (remaining > 0) {
    const chunk = (stream.read() as Buffer | null) ?? (await nextChunk(stream));
    if (chunk === null) return false;
    const head = chunk.subarray(0, remaining);
    hash.update(head);
    remaining -= head.length;
    if (head.length < chunk.length) stream.unshift(chunk.subarray(head.length));
  }
  return hash.digest('hex') === expected;
}

function nextChunk(stream: Readable): Promise<Buffer | null> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null;
      if (chunk !== null) {
        done();
        resolve(chunk);
      }
    };
    const onEnd = () => {
      done();
      resolve(null);
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/** A wrap() for fault runs: the stand-in over `driver`, counting into `counts`. */
export function retryStandIn(counts: RetryCounts): (driver: StorageDriver) => StorageDriver {
  return (driver) => new RetryStandIn(driver, counts);
}
