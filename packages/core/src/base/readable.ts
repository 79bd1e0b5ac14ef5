import { Readable, finished } from 'node:stream';

/**
 * Wraps a backend stream so that every error it emits reaches the consumer already mapped to a
 * typed Stowage error, and so that the operation's AbortSignal destroys it. Chunks are passed
 * through as they are, with the source paused whenever the consumer applies backpressure.
 * Drivers' readers go through mapSourceErrors instead, which needs no second stream.
 */
export function mapReadableErrors(source: Readable, mapError: (err: unknown) => Error, signal?: AbortSignal, abortError?: () => Error): Readable {
  let onAbort: (() => void) | undefined;
  const output = new Readable({
    highWaterMark: source.readableHighWaterMark,
    read() {
      source.resume();
    },
    destroy(err, callback) {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      source.destroy();
      callback(err);
    },
  });
  source.pause();
  source.on('data', (chunk: Buffer) => {
    if (!output.push(chunk)) source.pause();
  });
  source.on('end', () => output.push(null));
  finished(source, (err) => {
    if (err && !output.destroyed) output.destroy(mapError(err));
  });
  if (signal) {
    onAbort = () => output.destroy(abortError ? abortError() : mapError(signal.reason));
    if (signal.aborted) process.nextTick(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return output;
}

/**
 * mapReadableErrors without the second stream: returns `source` itself, with its errors mapped
 * where they enter it. Node's streams fail through `destroy(err)` (and a few sources emit 'error'
 * directly), so both are wrapped on this one object: the error the consumer sees, `errored` and
 * what async iteration and pipeline report are the typed one, and chunks reach the consumer with
 * no extra hop. An error passed to `destroy` by the consumer is mapped too (a typed error passes
 * as it is); a `destroy()` without one emits no error. The signal destroys the source; its
 * listener goes when the source closes.
 * An object-mode source (the drivers' empty `Readable.from([])`) keeps the byte-mode wrapper, so
 * every reader is a byte stream.
 */
export function mapSourceErrors(source: Readable, mapError: (err: unknown) => Error, signal?: AbortSignal, abortError?: () => Error): Readable {
  if (source.readableObjectMode) return mapReadableErrors(source, mapError, signal, abortError);
  const typed = new WeakSet<object>();
  const toTyped = (err: unknown): unknown => {
    if (err === null || err === undefined || (typeof err === 'object' && typed.has(err))) return err;
    const mapped = mapError(err);
    typed.add(mapped);
    return mapped;
  };
  // Set when the stream is destroyed without an error (the consumer let go): some sources report
  // that as an error of their own (undici's body: RequestAbortedError), which must not reach a
  // consumer that asked for it, as the separate wrapper stream never passed it on.
  let letGo = false;
  // Node's own destroy takes a callback after the error: everything past the error passes as is.
  const destroy = source.destroy.bind(source) as (...args: unknown[]) => Readable;
  source.destroy = (err?: Error | null, ...rest: unknown[]) => {
    if (err === undefined || err === null) letGo ||= !source.destroyed;
    return destroy(toTyped(err), ...rest);
  };
  const emit = source.emit.bind(source);
  source.emit = (event: string | symbol, ...args: unknown[]) => {
    if (event === 'error') {
      if (letGo) return false;
      args[0] = toTyped(args[0]);
    }
    return emit(event, ...args);
  };
  if (signal) {
    const onAbort = () => source.destroy(abortError ? abortError() : mapError(signal.reason));
    if (signal.aborted) {
      process.nextTick(onAbort);
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
      source.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return source;
}

/** Reads a whole stream (or any async iterable of bytes) into one Buffer. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
