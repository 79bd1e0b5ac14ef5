import { setTimeout as sleep } from 'node:timers/promises';

/** How retryRead asks a read again. */
export interface RetryReadOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The wait before attempt `attempt + 1`, after attempt `attempt` (from 1) failed. */
  delayMs(attempt: number): number;
  /** Whether a failure may pass when the read is made again (a reset, a body cut mid-way, a 5xx). */
  retriable(err: unknown): boolean;
  /** Ends the waits at once (the wait rejects with an AbortError); no attempt starts after it fired. */
  signal?: AbortSignal;
}

/**
 * Runs an idempotent read and runs it again while it fails in a way that may pass: for the reads
 * below an SDK's retry that it does not retry itself, above all a response body cut after the
 * headers, which SDKs hand over unread. Not for writes: a write whose answer was lost may have
 * taken effect. The last failure is thrown as it is.
 * @internal
 */
export async function retryRead<T>(read: () => Promise<T>, options: RetryReadOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= options.attempts || options.signal?.aborted === true || !options.retriable(err)) throw err;
      await sleep(options.delayMs(attempt), undefined, { signal: options.signal });
    }
  }
}
