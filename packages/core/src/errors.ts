/**
 * Typed errors shared by every driver.
 *
 * Each error carries a stable `code` (never reworded), the `driverName` that raised it and,
 * where it applies, the `path`. Guards check `code` rather than `instanceof`, so an error
 * raised by one copy of @stowage/core is still recognised by another copy in the same process.
 */

export const ErrorCode = {
  PathNotFound: 'ERR_PATH_NOT_FOUND',
  InvalidPath: 'ERR_INVALID_PATH',
  InvalidOffset: 'ERR_INVALID_OFFSET',
  UnsupportedMethod: 'ERR_UNSUPPORTED_METHOD',
  StorageDriver: 'ERR_STORAGE_DRIVER',
  WriterState: 'ERR_WRITER_STATE',
  InvalidArgument: 'ERR_INVALID_ARGUMENT',
  InvalidParameter: 'ERR_INVALID_PARAMETER',
  UnknownDriver: 'ERR_UNKNOWN_DRIVER',
  Aborted: 'ERR_ABORTED',
  UploadFenced: 'ERR_UPLOAD_FENCED',
  StorageFull: 'ERR_STORAGE_FULL',
  NotDurable: 'ERR_NOT_DURABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface StowageErrorContext {
  /** The driver that raised the error, as in `StorageDriver.name`. */
  driverName: string;
  /** The storage path the operation was about, if any. */
  path?: string;
  /** The public operation that failed, e.g. `getContent`. */
  operation?: string;
  /** The underlying error (SDK error, errno error, ...). */
  cause?: unknown;
}

/** Base class of every error a Stowage driver throws on purpose. */
export abstract class StowageError extends Error {
  abstract readonly code: ErrorCode;
  readonly driverName: string;
  readonly path?: string;
  readonly operation?: string;

  protected constructor(message: string, context: StowageErrorContext) {
    super(`${context.driverName}: ${message}`, context.cause === undefined ? undefined : { cause: context.cause });
    this.driverName = context.driverName;
    if (context.path !== undefined) this.path = context.path;
    if (context.operation !== undefined) this.operation = context.operation;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

export class PathNotFoundError extends StowageError {
  readonly code = ErrorCode.PathNotFound;
  constructor(driverName: string, path: string, extra: Omit<StowageErrorContext, 'driverName' | 'path'> = {}) {
    super(`path not found: ${path}`, { ...extra, driverName, path });
  }
}

export class InvalidPathError extends StowageError {
  readonly code = ErrorCode.InvalidPath;
  readonly reason: string;
  constructor(driverName: string, path: unknown, reason = 'invalid path', extra: Omit<StowageErrorContext, 'driverName' | 'path'> = {}) {
    const shown = typeof path === 'string' ? path : String(path);
    super(`${reason}: ${JSON.stringify(shown)}`, { ...extra, driverName, path: shown });
    this.reason = reason;
  }
}

export class InvalidOffsetError extends StowageError {
  readonly code = ErrorCode.InvalidOffset;
  readonly offset: number;
  constructor(driverName: string, path: string, offset: number, extra: Omit<StowageErrorContext, 'driverName' | 'path'> = {}) {
    super(`invalid offset ${offset} for path ${path}`, { ...extra, driverName, path });
    this.offset = offset;
  }
}

export class UnsupportedMethodError extends StowageError {
  readonly code = ErrorCode.UnsupportedMethod;
  readonly method: string;
  constructor(driverName: string, method: string, extra: Omit<StowageErrorContext, 'driverName' | 'operation'> = {}) {
    super(`unsupported method: ${method}`, { ...extra, driverName, operation: method });
    this.method = method;
  }
}

/** Any backend failure that is not one of the specific errors; the original is in `cause`. */
export class StorageDriverError extends StowageError {
  readonly code = ErrorCode.StorageDriver;
  /**
   * True when the failure may go away by itself (a 5xx, throttling, a timeout, a reset or refused
   * connection), so the same call may succeed when tried again. The drivers' error mappings set it;
   * read it with {@link isTransient}, which also works across copies of this package.
   */
  readonly transient: boolean;
  constructor(driverName: string, cause: unknown, context: Omit<StowageErrorContext, 'driverName' | 'cause'> & { transient?: boolean } = {}) {
    const { transient = false, ...rest } = context;
    const what = rest.operation ? `${rest.operation}${rest.path ? ` ${rest.path}` : ''}` : (rest.path ?? 'operation');
    super(`${what} failed: ${describeCause(cause)}`, { ...rest, driverName, cause });
    this.transient = transient;
  }
}

/** A FileWriter was used after it was closed, committed, cancelled or broken by a failed write. */
export class WriterStateError extends StowageError {
  readonly code = ErrorCode.WriterState;
  readonly state: string;
  constructor(driverName: string, path: string, operation: string, state: string, cause?: unknown) {
    super(`cannot ${operation} ${path}: writer is ${state}`, { driverName, path, operation, cause });
    this.state = state;
  }
}

/**
 * A newer writer of the same upload took it over: `writer(path, append)` was called again, from
 * this or any other process, after this writer was opened (an upload has at most one live writer).
 * The fenced writer's write, close, commit and cancel fail with this error and change nothing; the
 * upload belongs to the newer writer, which can still commit or cancel it.
 */
export class UploadFencedError extends StowageError {
  readonly code = ErrorCode.UploadFenced;
  constructor(driverName: string, path: string, operation: string, cause?: unknown) {
    super(`cannot ${operation} ${path}: a newer writer of this upload took it over; this writer changed nothing`, { driverName, path, operation, cause });
  }
}

/** The backend has no room left (a full disk or quota, ENOSPC/EDQUOT); the operation changed nothing. */
export class StorageFullError extends StowageError {
  readonly code = ErrorCode.StorageFull;
  constructor(driverName: string, path: string | undefined, operation: string, cause?: unknown) {
    super(`${operation}${path ? ` ${path}` : ''} failed: no space left in the storage; nothing was changed`, { driverName, path, operation, cause });
  }
}

/**
 * The change was made and is visible (a commit, putContent or move published its result), but
 * making it durable failed (the directory fsync after the rename): after a power loss or OS crash
 * it may be undone. Not a failure of the operation itself: do not retry it as if nothing happened.
 */
export class NotDurableError extends StowageError {
  readonly code = ErrorCode.NotDurable;
  /** Always true: the change is published. */
  readonly published = true;
  constructor(driverName: string, path: string, operation: string, cause?: unknown) {
    super(`${operation} ${path}: the change is published but may not be durable (syncing it to disk failed)`, { driverName, path, operation, cause });
  }
}

/** A method argument other than a path or an offset is malformed (content that is not bytes, a bad date, ...). */
export class InvalidArgumentError extends StowageError {
  readonly code = ErrorCode.InvalidArgument;
  readonly argument: string;
  constructor(driverName: string, argument: string, problem: string, context: Omit<StowageErrorContext, 'driverName'> = {}) {
    super(`${context.operation ? `${context.operation}${context.path ? ` ${context.path}` : ''}: ` : ''}argument ${argument}: ${problem}`, {
      ...context,
      driverName,
    });
    this.argument = argument;
  }
}

/** A driver parameter (from a config.yml `storage:` section) is missing or malformed. */
export class InvalidParameterError extends StowageError {
  readonly code = ErrorCode.InvalidParameter;
  readonly parameter: string;
  constructor(driverName: string, parameter: string, problem: string) {
    super(`parameter ${parameter}: ${problem}`, { driverName });
    this.parameter = parameter;
  }
}

export class UnknownDriverError extends StowageError {
  readonly code = ErrorCode.UnknownDriver;
  /** `packageName`: the first-party package that registers `driverName` when loaded, for the hint. */
  constructor(driverName: string, known: readonly string[], packageName?: string) {
    const hint = packageName ? `; import ${packageName} to register it` : '';
    super(`no storage driver registered under this name (registered: ${known.join(', ') || 'none'})${hint}`, { driverName });
  }
}

/** The operation's AbortSignal fired. `name` is 'AbortError', as for Node's own aborts. */
export class OperationAbortedError extends StowageError {
  readonly code = ErrorCode.Aborted;
  constructor(driverName: string, context: Omit<StowageErrorContext, 'driverName'> = {}) {
    const what = context.operation ? `${context.operation}${context.path ? ` ${context.path}` : ''}` : 'operation';
    super(`${what} aborted`, { ...context, driverName });
  }
  override get name(): string {
    return 'AbortError';
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** True when `err` carries the given Stowage error code (works across copies of this package). */
export function hasErrorCode(err: unknown, code: ErrorCode): boolean {
  return codeOf(err) === code;
}

/** True for any error raised by a Stowage driver on purpose (it has one of our codes and a driverName). */
export function isStowageError(err: unknown): err is StowageError {
  const code = codeOf(err);
  return typeof code === 'string' && (Object.values(ErrorCode) as string[]).includes(code) && typeof (err as { driverName?: unknown }).driverName === 'string';
}

export const isPathNotFound = (err: unknown): err is PathNotFoundError => hasErrorCode(err, ErrorCode.PathNotFound);
export const isInvalidPath = (err: unknown): err is InvalidPathError => hasErrorCode(err, ErrorCode.InvalidPath);
export const isInvalidOffset = (err: unknown): err is InvalidOffsetError => hasErrorCode(err, ErrorCode.InvalidOffset);
export const isUnsupportedMethod = (err: unknown): err is UnsupportedMethodError => hasErrorCode(err, ErrorCode.UnsupportedMethod);
export const isStorageDriverError = (err: unknown): err is StorageDriverError => hasErrorCode(err, ErrorCode.StorageDriver);
export const isWriterStateError = (err: unknown): err is WriterStateError => hasErrorCode(err, ErrorCode.WriterState);
export const isInvalidArgument = (err: unknown): err is InvalidArgumentError => hasErrorCode(err, ErrorCode.InvalidArgument);
export const isInvalidParameter = (err: unknown): err is InvalidParameterError => hasErrorCode(err, ErrorCode.InvalidParameter);
export const isUnknownDriver = (err: unknown): err is UnknownDriverError => hasErrorCode(err, ErrorCode.UnknownDriver);
export const isUploadFenced = (err: unknown): err is UploadFencedError => hasErrorCode(err, ErrorCode.UploadFenced);
export const isStorageFull = (err: unknown): err is StorageFullError => hasErrorCode(err, ErrorCode.StorageFull);
export const isNotDurable = (err: unknown): err is NotDurableError => hasErrorCode(err, ErrorCode.NotDurable);

/** True for our OperationAbortedError and for Node's own AbortError (code ABORT_ERR). */
export function isAborted(err: unknown): boolean {
  const code = codeOf(err);
  return code === ErrorCode.Aborted || code === 'ABORT_ERR' || (err instanceof Error && err.name === 'AbortError');
}

/**
 * True when `err` is a backend failure that may go away if the same call is tried again: a
 * StorageDriverError whose driver marked it `transient` (5xx, 429/503 throttling, timeouts,
 * connection reset or refused). Never true for a typed outcome (PathNotFound, InvalidPath, ...),
 * an abort, or an error the driver did not map. Works across copies of this package.
 */
export function isTransient(err: unknown): boolean {
  return hasErrorCode(err, ErrorCode.StorageDriver) && (err as { transient?: unknown }).transient === true;
}

/**
 * HTTP statuses worth asking again, for drivers' error mappings: 408 (request timeout), 429 (too
 * many requests) and every 5xx except 501 (not implemented) and 505 (version not supported).
 */
export function isTransientHttpStatus(status: number | undefined): boolean {
  if (status === undefined) return false;
  if (status === 408 || status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/** Node and undici codes of failures on the way to the backend, not answers from it. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * True for a network failure or timeout on the way to the backend (connection reset or refused,
 * socket hang up, DNS try-again, undici's socket and timeout errors, an SDK's TimeoutError),
 * looking through `cause` chains; never for an abort. For drivers' error mappings.
 */
export function isTransientNetworkError(err: unknown): boolean {
  let current = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if (isAborted(current)) return false;
    const { code, errno, name, message } = current as { code?: unknown; errno?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return true;
    if (typeof errno === 'string' && TRANSIENT_NETWORK_CODES.has(errno)) return true;
    if (name === 'TimeoutError') return true;
    if (typeof message === 'string' && message.includes('socket hang up')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
