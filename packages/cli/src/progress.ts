/**
 * Byte progress bars (put, verify) with cli-progress, on stderr and only on a terminal: piped
 * or redirected output gets the summary alone.
 */
import { SingleBar } from 'cli-progress';
import { formatBytes } from '@stowage/conformance/bench';
import type { Output } from './output';

export interface ByteProgress {
  /** Adds `bytes` to the count. */
  advance(bytes: number): void;
  /** Sets a short note shown after the bar (e.g. the current file). */
  note(text: string): void;
  stop(): void;
}

const NO_PROGRESS: ByteProgress = { advance() {}, note() {}, stop() {} };

/**
 * A bar for `total` bytes (a running count with a rate when the total is unknown, as for stdin),
 * or a no-op when stderr is not a terminal.
 */
export function byteProgress(output: Output, label: string, total: number | undefined): ByteProgress {
  if (!output.interactive) return NO_PROGRESS;
  let done = 0;
  let note = '';
  const bar = new SingleBar({
    stream: output.streams.stderr,
    hideCursor: null,
    clearOnComplete: true,
    fps: 5,
    format: (options, params) => {
      const seconds = Math.max(0.001, (Date.now() - params.startTime) / 1000);
      const rate = `${formatBytes(done / seconds)}/s`;
      const shown = `${label} ${formatBytes(done)}${total !== undefined ? ` / ${formatBytes(total)}` : ''} ${rate}${note ? `  ${note}` : ''}`;
      if (total === undefined) return shown;
      const size = options.barsize ?? 30;
      const filled = Math.round(size * Math.min(1, params.progress));
      return `[${'#'.repeat(filled)}${'.'.repeat(size - filled)}] ${Math.floor(params.progress * 100)}% ${shown}`;
    },
    barsize: 30,
  });
  bar.start(total ?? 1, 0);
  return {
    advance(bytes) {
      done += bytes;
      bar.update(total === undefined ? 0 : Math.min(done, total));
    },
    note(text) {
      note = output.redact(text);
    },
    stop() {
      bar.stop();
    },
  };
}
