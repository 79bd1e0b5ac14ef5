/**
 * OpenTelemetry spans and metrics for every call into the wrapped driver, through
 * `@opentelemetry/api` only: without an SDK installed by the application everything is a no-op.
 * Each call is a CLIENT span `stowage <operation>` (attributes `stowage.operation`,
 * `stowage.driver`, `stowage.path`, and at the end `stowage.outcome` and `stowage.bytes`) that is
 * the active span while the driver works, so an SDK's own spans (HTTP, AWS SDK) nest under it.
 * Metrics: the histogram `stowage.operation.duration` (seconds) and the counter
 * `stowage.operation.bytes` (bytes read or written), by operation, driver and outcome. A reader's
 * span and duration last until its stream ends, a writer's until its session ends (commit, close,
 * cancel or a failed write). For those without OpenTelemetry, `onEvent` is told the same facts.
 *
 * Outcomes: `ok`; `not_found` (PathNotFoundError, an everyday answer for a registry's stat);
 * `aborted`; `error` (the span's status is set to ERROR only for these). The global providers are
 * read when the middleware is built: install the SDK first.
 */
import { Transform, pipeline, type Readable } from 'node:stream';
import {
  SpanKind,
  SpanStatusCode,
  context,
  metrics,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import {
  DriverDecorator,
  isAborted,
  isPathNotFound,
  type FileInfo,
  type FileWriter,
  type OpOptions,
  type RedirectOptions,
  type StorageDriver,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { readOptions } from './options';
import { ForwardingWriter, type WriterEnd } from './writer';

/** How an instrumented call ended; see the module comment. */
export type Outcome = 'ok' | 'not_found' | 'aborted' | 'error';

/** What {@link InstrumentOptions.onEvent} is told when a call ends (a reader or writer: when its stream or session ends). */
export interface OperationEvent {
  /** The StorageDriver method: `getContent`, `reader`, `writer`, ... */
  operation: string;
  /** The driver label (`driverLabel`, by default the driver's name). */
  driver: string;
  /** The path the call was about (move: the source), if any. */
  path?: string;
  outcome: Outcome;
  /** From the call to its end, in milliseconds. */
  durationMs: number;
  /** Bytes read or written, for getContent, putContent, reader and writer. */
  bytes?: number;
  /** For a writer: the call that ended its session. */
  writerEnd?: WriterEnd['how'];
  /** The error, unless the outcome is `ok`. */
  error?: unknown;
}

/** Options of {@link InstrumentMiddleware}. */
export interface InstrumentOptions {
  /** Default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Default: the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Told about every call when it ends; an exception it throws is ignored. */
  onEvent?: (event: OperationEvent) => void;
  /** The `stowage.driver` attribute (default the driver's name), e.g. to tell two S3 buckets apart. */
  driverLabel?: string;
  /** Whether spans carry the `stowage.path` attribute (default true); metrics never do. */
  recordPaths?: boolean;
}

const SCOPE = '@stowage/middleware';
const NAME = 'instrument';

/** See the module comment. */
export class InstrumentMiddleware extends DriverDecorator {
  private readonly tracer: Tracer;
  private readonly duration: Histogram;
  private readonly bytes: Counter;
  private readonly onEvent: ((event: OperationEvent) => void) | undefined;
  private readonly label: string;
  private readonly recordPaths: boolean;

  constructor(inner: StorageDriver, options: InstrumentOptions = {}) {
    super(inner);
    this.tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
    this.duration = meter.createHistogram('stowage.operation.duration', { description: 'Duration of storage driver operations', unit: 's' });
    this.bytes = meter.createCounter('stowage.operation.bytes', { description: 'Bytes read or written by storage driver operations', unit: 'By' });
    this.onEvent = options.onEvent;
    this.label = options.driverLabel ?? inner.name;
    this.recordPaths = options.recordPaths ?? true;
  }

  override getContent(path: string, opts?: OpOptions): Promise<Buffer> {
    return this.measure(
      'getContent',
      path,
      () => this.inner.getContent(path, opts),
      (content) => content.length,
    );
  }
  override putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void> {
    return this.measure(
      'putContent',
      path,
      () => this.inner.putContent(path, content, opts),
      () => content.byteLength,
    );
  }
  override stat(path: string, opts?: OpOptions): Promise<FileInfo> {
    return this.measure('stat', path, () => this.inner.stat(path, opts));
  }
  override list(path: string, opts?: OpOptions): Promise<string[]> {
    return this.measure('list', path, () => this.inner.list(path, opts));
  }
  override move(sourcePath: string, destPath: string, opts?: OpOptions): Promise<void> {
    return this.measure('move', sourcePath, () => this.inner.move(sourcePath, destPath, opts));
  }
  override delete(path: string, opts?: OpOptions): Promise<void> {
    return this.measure('delete', path, () => this.inner.delete(path, opts));
  }
  override redirectURL(path: string, opts?: RedirectOptions): Promise<string | null> {
    return this.measure('redirectURL', path, () => this.inner.redirectURL(path, opts));
  }
  override walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void> {
    return this.measure('walk', path, () => this.inner.walk(path, fn, opts));
  }
  override purgeUploads(olderThan: Date, opts?: OpOptions): Promise<number> {
    return this.measure('purgeUploads', undefined, () => this.inner.purgeUploads(olderThan, opts));
  }

  override async reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable> {
    const call = this.start('reader', path);
    let source: Readable;
    try {
      source = await this.within(call.span, () => this.inner.reader(path, offset, opts));
    } catch (err) {
      this.end(call, err);
      throw err;
    }
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    pipeline(source, counter, (err) => {
      // A consumer that stops reading early (destroys the stream) is no failure of the driver's.
      const failed = err && (err as { code?: unknown }).code !== 'ERR_STREAM_PREMATURE_CLOSE' ? err : undefined;
      this.end(call, failed, bytes);
    });
    return counter;
  }

  override async writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter> {
    const call = this.start('writer', path);
    try {
      const inner = await this.within(call.span, () => this.inner.writer(path, append, opts));
      return new CountingWriter(inner, (end, bytes) => this.end(call, end.error, bytes, end.how));
    } catch (err) {
      this.end(call, err);
      throw err;
    }
  }

  private async measure<T>(operation: string, path: string | undefined, body: () => Promise<T>, bytesOf?: (result: T) => number): Promise<T> {
    const call = this.start(operation, path);
    let result: T;
    try {
      result = await this.within(call.span, body);
    } catch (err) {
      this.end(call, err);
      throw err;
    }
    this.end(call, undefined, bytesOf?.(result));
    return result;
  }

  private start(operation: string, path: string | undefined): Call {
    const attributes: Attributes = { 'stowage.operation': operation, 'stowage.driver': this.label };
    if (path !== undefined && this.recordPaths) attributes['stowage.path'] = path;
    const span = this.tracer.startSpan(`stowage ${operation}`, { kind: SpanKind.CLIENT, attributes });
    return { operation, path, span, started: performance.now() };
  }

  private within<T>(span: Span, body: () => Promise<T>): Promise<T> {
    return context.with(trace.setSpan(context.active(), span), body);
  }

  private endSpan(span: Span, outcome: Outcome, error: unknown, bytes: number | undefined, writerEnd: WriterEnd['how'] | undefined): void {
    span.setAttribute('stowage.outcome', outcome);
    if (bytes !== undefined) span.setAttribute('stowage.bytes', bytes);
    if (writerEnd !== undefined) span.setAttribute('stowage.writer.end', writerEnd);
    if (outcome === 'error') {
      const type = errorType(error);
      span.setAttribute('error.type', type);
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
    }
    span.end();
  }

  private end(call: Call, error: unknown, bytes?: number, writerEnd?: WriterEnd['how']): void {
    const durationMs = performance.now() - call.started;
    const outcome: Outcome = error === undefined ? 'ok' : isPathNotFound(error) ? 'not_found' : isAborted(error) ? 'aborted' : 'error';
    const { span } = call;
    // Without an SDK (or for a span sampled out) there is nothing to record: skip the work.
    if (!span.isRecording()) {
      span.end();
    } else {
      this.endSpan(span, outcome, error, bytes, writerEnd);
    }
    const attributes: Attributes = { 'stowage.operation': call.operation, 'stowage.driver': this.label, 'stowage.outcome': outcome };
    if (outcome === 'error') attributes['error.type'] = errorType(error);
    this.duration.record(durationMs / 1000, attributes);
    if (bytes !== undefined && bytes > 0) this.bytes.add(bytes, attributes);
    if (this.onEvent) {
      const event: OperationEvent = { operation: call.operation, driver: this.label, outcome, durationMs };
      if (call.path !== undefined) event.path = call.path;
      if (bytes !== undefined) event.bytes = bytes;
      if (writerEnd !== undefined) event.writerEnd = writerEnd;
      if (error !== undefined) event.error = error;
      try {
        this.onEvent(event);
      } catch {
        // A broken hook must not break storage.
      }
    }
  }
}

interface Call {
  operation: string;
  path: string | undefined;
  span: Span;
  started: number;
}

/** The error's stable code (ERR_STORAGE_DRIVER, ...) or class name, for `error.type`. */
function errorType(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : typeof error;
}

/** A writer counting the bytes its successful writes took. */
class CountingWriter extends ForwardingWriter {
  private written = 0;

  constructor(inner: FileWriter, onEnd: (end: WriterEnd, bytes: number) => void) {
    super(inner, (end) => onEnd(end, this.written));
  }

  override async write(chunk: Uint8Array): Promise<void> {
    await super.write(chunk);
    this.written += chunk.byteLength;
  }
}

/** The config.yml factory: `driverlabel`, `recordpaths`. The event hook and providers are given in code. */
export function instrumentFromConfig(driver: StorageDriver, options: Record<string, unknown>): InstrumentMiddleware {
  const reader = readOptions(NAME, options, ['driverlabel', 'recordpaths']);
  return new InstrumentMiddleware(driver, { driverLabel: reader.string('driverlabel') || undefined, recordPaths: reader.boolean('recordpaths', true) });
}
