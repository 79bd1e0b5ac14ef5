/**
 * Everything the CLI prints goes through an Output: human text or JSON on stdout, messages on
 * stderr, each line redacted (credentials never printed), and a status line on a TTY that the
 * next printed line replaces.
 */
import { alignColumns } from '@stowage/conformance/bench';
import type { Redactor } from './secrets';

export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export class Output {
  private redactor: Redactor = (text) => text;
  private statusShown = false;

  constructor(
    readonly streams: OutputStreams,
    /** `--json`: results as JSON on stdout instead of tables. */
    readonly json: boolean,
  ) {}

  /** From now on, these secrets are replaced by `***` in everything printed. */
  setRedactor(redactor: Redactor): void {
    this.redactor = redactor;
  }

  redact(text: string): string {
    return this.redactor(text);
  }

  /** Live status lines go to stderr, and only when it is a terminal. */
  get interactive(): boolean {
    return this.streams.stderr.isTTY === true;
  }

  /** A line of results on stdout. */
  line(text = ''): void {
    this.clearStatus();
    this.streams.stdout.write(`${this.redactor(text)}\n`);
  }

  /** Text on stdout as it is (no newline added), for output that streams piece by piece. */
  write(text: string): void {
    this.clearStatus();
    this.streams.stdout.write(this.redactor(text));
  }

  /** A message on stderr (progress notes, warnings, errors). */
  note(text: string): void {
    this.clearStatus();
    this.streams.stderr.write(`${this.redactor(text)}\n`);
  }

  /** A value as pretty JSON on stdout. */
  jsonValue(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  /** Rows under a header, columns aligned (first left, others right), with a rule under the header. */
  table(header: string[], rows: string[][]): void {
    const lines = alignColumns([header, ...rows]);
    lines.splice(1, 0, '-'.repeat(Math.max(...lines.map((l) => l.length))));
    for (const text of lines) this.line(text);
  }

  /** Replaces the status line on a TTY (one line, cut to the terminal width); does nothing elsewhere. */
  status(text: string): void {
    if (!this.interactive) return;
    const width = Math.max(20, (this.streams.stderr.columns || 80) - 1);
    const shown = this.redactor(text);
    this.streams.stderr.write(`\r\x1b[2K${shown.length > width ? `${shown.slice(0, width - 1)}…` : shown}`);
    this.statusShown = true;
  }

  clearStatus(): void {
    if (!this.statusShown) return;
    this.streams.stderr.write('\r\x1b[2K');
    this.statusShown = false;
  }
}

/** `2026-12-06 18:36:10` in UTC: sortable and unambiguous. */
export function formatTime(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** `1m05s`, `12.3s`: elapsed time for progress lines. */
export function formatElapsed(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
}
