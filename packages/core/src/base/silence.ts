import type { Readable } from 'node:stream';

/**
 * Destroys `source` with `silenceError()` when it delivers nothing for `timeoutMs` while it is
 * wanted: for a client whose own timer ends at a streamed answer's headers, so that a body gone
 * silent halfway fails (and its socket goes) instead of being waited on for ever. Returns `source`.
 *
 * The timer restarts on every chunk the source pushes and stops at its end or close. Silence is
 * only counted while the stream wants data: a consumer that stops reading (paused, or not
 * iterating) lets the buffer fill to its high-water mark, and a full buffer is backpressure, not
 * silence, however long it lasts.
 * @internal
 */
export function watchSilence(source: Readable, timeoutMs: number, silenceError: () => Error): Readable {
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const stop = () => {
    done = true;
    clearTimeout(timer);
  };
  const arm = () => {
    clearTimeout(timer);
    if (done) return;
    timer = setTimeout(() => {
      if (done || source.destroyed) return;
      // Backpressure: the consumer holds a full buffer; look again a full period later.
      if (source.readableLength >= source.readableHighWaterMark) arm();
      else source.destroy(silenceError());
    }, timeoutMs);
    timer.unref();
  };
  // Chunks are seen where the source hands them in: a 'data' listener would start the flow.
  const push = source.push.bind(source);
  source.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null) stop();
    else arm();
    return push(chunk, encoding);
  };
  source.once('close', stop);
  source.once('end', stop);
  if (source.readableEnded || source.destroyed) stop();
  else arm();
  return source;
}
