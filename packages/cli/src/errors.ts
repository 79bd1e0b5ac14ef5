/**
 * How the CLI fails: usage and configuration mistakes exit 2, everything else 1. Errors are
 * printed as one line with the typed error's code, driver and path; the stack only with --debug.
 */
import type { StowageError } from '@stowage/core';
import type { Redactor } from './secrets';

/** Exit statuses of the stowage command. */
export const ExitCode = {
  Ok: 0,
  /** An operation failed, a test failed, verify found problems. */
  Failure: 1,
  /** Bad arguments, a bad config file, an unknown driver. */
  Usage: 2,
} as const;

/** A mistake in how the command was called or configured; printed without a stack, exits 2. */
export class UsageError extends Error {
  override get name(): string {
    return 'UsageError';
  }
}

/** The failure is already reported on the output (a verify problem list, a failed test table); exit 1 quietly. */
export class ReportedFailure extends Error {
  constructor() {
    super('failure already reported');
  }
}

/** Typed driver errors, recognised by shape so a second copy of @stowage/core still counts. */
function isStowageError(err: unknown): err is StowageError {
  return (
    err instanceof Error &&
    typeof (err as StowageError).code === 'string' &&
    (err as StowageError).code.startsWith('ERR_') &&
    typeof (err as StowageError).driverName === 'string'
  );
}

/** Parameter and driver-name errors are configuration mistakes: exit 2 like a bad flag. */
const USAGE_CODES = new Set(['ERR_INVALID_PARAMETER', 'ERR_UNKNOWN_DRIVER']);

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return ExitCode.Usage;
  if (isStowageError(err) && USAGE_CODES.has(err.code)) return ExitCode.Usage;
  return ExitCode.Failure;
}

/** The line (or, with `debug`, the lines) printed for an error, with every credential redacted. */
export function describeError(err: unknown, redact: Redactor, debug: boolean): string {
  let text: string;
  if (isStowageError(err)) {
    const where = [`driver ${err.driverName}`, ...(err.path !== undefined ? [`path ${err.path}`] : [])].join(', ');
    text = `${err.code} (${where}): ${err.message}`;
  } else if (err instanceof Error) {
    text = err.message;
  } else {
    text = String(err);
  }
  if (debug && err instanceof Error && err.stack) {
    text += `\n${err.stack}`;
    if (err.cause instanceof Error && err.cause.stack) text += `\ncaused by: ${err.cause.stack}`;
  }
  return redact(text);
}
