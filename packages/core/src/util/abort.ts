import { OperationAbortedError } from '../errors';

export interface AbortContext {
  driverName: string;
  operation?: string;
  path?: string;
}

/** Throws OperationAbortedError if the signal has fired; call before any I/O. */
export function throwIfAborted(signal: AbortSignal | undefined, context: AbortContext): void {
  if (signal?.aborted) throw new OperationAbortedError(context.driverName, { ...context, cause: signal.reason });
}

/**
 * Settles with `work`, or rejects with OperationAbortedError as soon as the signal fires.
 * For backend calls that cannot be cancelled themselves; their result is then ignored.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, context: AbortContext): Promise<T> {
  if (!signal) return work;
  throwIfAborted(signal, context);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new OperationAbortedError(context.driverName, { ...context, cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
