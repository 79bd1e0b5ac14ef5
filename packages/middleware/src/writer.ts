import type { Writable } from 'node:stream';
import { writableOf, type AsWritableOptions, type FileWriter } from '@stowage/core';

/** How a wrapped writer's session ended: the call that ended it, and its error if it failed. */
export interface WriterEnd {
  how: 'commit' | 'close' | 'cancel' | 'write';
  error?: unknown;
}

/**
 * A FileWriter forwarding to another, telling `onEnd` once when the session ends: commit, close
 * or cancel settles (either way), or a write fails (the writer is then broken). Its asWritable
 * goes through this object's own methods, so a middleware that wraps writers sees piped writes too.
 */
export class ForwardingWriter implements FileWriter {
  private ended = false;

  constructor(
    protected readonly inner: FileWriter,
    private readonly onEnd?: (end: WriterEnd) => void,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    try {
      await this.inner.write(chunk);
    } catch (err) {
      this.end({ how: 'write', error: err });
      throw err;
    }
  }

  close(): Promise<void> {
    return this.ending('close', () => this.inner.close());
  }

  cancel(): Promise<void> {
    return this.ending('cancel', () => this.inner.cancel());
  }

  commit(): Promise<void> {
    return this.ending('commit', () => this.inner.commit());
  }

  asWritable(options: AsWritableOptions = {}): Writable {
    return writableOf(this, options);
  }

  /** Ends the session now (for a subclass that fails a call itself); later ends are ignored. */
  protected end(end: WriterEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd?.(end);
  }

  private async ending(how: WriterEnd['how'], call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (err) {
      this.end({ how, error: err });
      throw err;
    }
    this.end({ how });
  }
}
