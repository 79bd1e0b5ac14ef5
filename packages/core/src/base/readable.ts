import { Readable, finished } from 'node:stream';

/**
 * Wraps a backend stream so that every error it emits reaches the consumer already mapped to a
 * typed Stowage error, and so that the operation's AbortSignal destroys it. Chunks are passed
 * through as they are, with the source paused whenever the consumer applies backpressure.
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

/** Reads a whole stream (or any async iterable of bytes) into one Buffer. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
