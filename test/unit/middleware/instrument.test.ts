/**
 * instrument: spans and metrics through @opentelemetry/api, recorded by a test TracerProvider and
 * MeterProvider written against the API (no SDK needed), plus the plain event hook.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context,
  metrics,
  trace,
  type Attributes,
  type Context,
  type ContextManager,
  type Meter,
  type MeterProvider,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { readAll, type FileInfo, type OpOptions } from '@stowage/core';
import { InstrumentMiddleware, type OperationEvent } from '@stowage/middleware';
import { ScriptedDriver } from './helpers';

/** A span that keeps what it is told. */
class RecordedSpan implements Span {
  attributes: Attributes = {};
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  exceptions: unknown[] = [];
  ended = false;
  readonly parent: Span | undefined;
  private readonly ids: SpanContext;

  constructor(
    readonly name: string,
    options: SpanOptions,
    parentContext: Context,
  ) {
    Object.assign(this.attributes, options.attributes);
    this.parent = trace.getSpan(parentContext);
    this.ids = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: Math.random().toString(16).slice(2, 18).padEnd(16, '0'), traceFlags: 1 };
  }
  spanContext(): SpanContext {
    return this.ids;
  }
  setAttribute(key: string, value: Attributes[string]): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {
    assert.equal(this.ended, false, `${this.name} ended twice`);
    this.ended = true;
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(exception: unknown): void {
    this.exceptions.push(exception);
  }
}

/** A TracerProvider whose tracer records every span it starts. */
class RecordingTracerProvider implements TracerProvider {
  readonly spans: RecordedSpan[] = [];
  getTracer(): Tracer {
    const startSpan = (name: string, options: SpanOptions = {}, parent: Context = context.active()) => {
      const span = new RecordedSpan(name, options, parent);
      this.spans.push(span);
      return span;
    };
    return { startSpan, startActiveSpan: () => assert.fail('startActiveSpan is not used') };
  }
}

/** A MeterProvider whose instruments record every measurement. */
class RecordingMeterProvider implements MeterProvider {
  readonly points: Array<{ instrument: string; value: number; attributes: Attributes; unit?: string }> = [];
  getMeter(): Meter {
    const instrument = (name: string, options: { unit?: string } = {}) => {
      const record = (value: number, attributes: Attributes = {}) => this.points.push({ instrument: name, value, attributes, unit: options.unit });
      return { record, add: record };
    };
    return { createHistogram: instrument, createCounter: instrument } as unknown as Meter;
  }
  of(instrument: string, operation: string) {
    return this.points.filter((point) => point.instrument === instrument && point.attributes['stowage.operation'] === operation);
  }
}

/** The AsyncLocalStorage context manager an SDK would install, so that active spans follow async calls. */
class LocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

/** Notes the span active while the driver's stat runs. */
class SeesActiveSpan extends ScriptedDriver {
  activeDuringStat: Span | undefined;
  override stat(path: string, opts?: OpOptions): Promise<FileInfo> {
    this.activeDuringStat = trace.getActiveSpan();
    return super.stat(path, opts);
  }
}

describe('middleware: instrument', () => {
  let tracer: RecordingTracerProvider;
  let meter: RecordingMeterProvider;
  let events: OperationEvent[];
  let inner: SeesActiveSpan;
  let driver: InstrumentMiddleware;

  beforeEach(() => {
    tracer = new RecordingTracerProvider();
    meter = new RecordingMeterProvider();
    events = [];
    inner = new SeesActiveSpan();
    driver = new InstrumentMiddleware(inner, { tracerProvider: tracer, meterProvider: meter, onEvent: (event) => events.push(event), driverLabel: 'primary' });
  });

  it('a span, a duration and bytes for each call, with operation, driver, path and outcome', async () => {
    await driver.putContent('/a/f', Buffer.from('hello'));
    assert.equal((await driver.getContent('/a/f')).toString(), 'hello');
    assert.deepEqual(await driver.list('/a'), ['/a/f']);
    assert.deepEqual(
      tracer.spans.map((span) => span.name),
      ['stowage putContent', 'stowage getContent', 'stowage list'],
    );
    const [put, get] = tracer.spans;
    assert.deepEqual(get!.attributes, {
      'stowage.operation': 'getContent',
      'stowage.driver': 'primary',
      'stowage.path': '/a/f',
      'stowage.outcome': 'ok',
      'stowage.bytes': 5,
    });
    assert.equal(put!.attributes['stowage.bytes'], 5);
    assert.ok(tracer.spans.every((span) => span.ended && span.status.code === SpanStatusCode.UNSET));
    const durations = meter.of('stowage.operation.duration', 'getContent');
    assert.equal(durations.length, 1);
    assert.equal(durations[0]!.unit, 's');
    assert.deepEqual(durations[0]!.attributes, { 'stowage.operation': 'getContent', 'stowage.driver': 'primary', 'stowage.outcome': 'ok' });
    assert.ok(durations[0]!.value >= 0 && durations[0]!.value < 5);
    assert.deepEqual(
      meter.of('stowage.operation.bytes', 'putContent').map((point) => [point.value, point.unit]),
      [[5, 'By']],
    );
    assert.equal(meter.of('stowage.operation.bytes', 'list').length, 0);
    assert.deepEqual(
      events.map((event) => [event.operation, event.driver, event.path, event.outcome, event.bytes]),
      [
        ['putContent', 'primary', '/a/f', 'ok', 5],
        ['getContent', 'primary', '/a/f', 'ok', 5],
        ['list', 'primary', '/a', 'ok', undefined],
      ],
    );
  });

  it('outcomes: not_found and aborted leave the status unset; an error sets ERROR with error.type and records the exception', async () => {
    await assert.rejects(driver.stat('/missing'));
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(driver.list('/', { signal: controller.signal }));
    inner.failNext('getContent', 1);
    await assert.rejects(driver.getContent('/x'));
    const [missing, aborted, failed] = tracer.spans;
    assert.equal(missing!.attributes['stowage.outcome'], 'not_found');
    assert.equal(missing!.status.code, SpanStatusCode.UNSET);
    assert.equal(aborted!.attributes['stowage.outcome'], 'aborted');
    assert.equal(failed!.attributes['stowage.outcome'], 'error');
    assert.equal(failed!.attributes['error.type'], 'ERR_STORAGE_DRIVER');
    assert.equal(failed!.status.code, SpanStatusCode.ERROR);
    assert.equal(failed!.exceptions.length, 1);
    assert.deepEqual(meter.of('stowage.operation.duration', 'getContent')[0]!.attributes['error.type'], 'ERR_STORAGE_DRIVER');
    assert.deepEqual(
      events.map((event) => event.outcome),
      ['not_found', 'aborted', 'error'],
    );
    assert.ok(events[2]!.error instanceof Error);
  });

  it("a reader's span lasts until its stream ends and counts the bytes read; one destroyed early is no error", async () => {
    await inner.memory.putContent('/r', Buffer.alloc(100_000, 1));
    const stream = await driver.reader('/r', 10);
    assert.equal(tracer.spans[0]!.ended, false, 'open while the stream is');
    assert.equal((await readAll(stream)).length, 99_990);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(tracer.spans[0]!.ended, true);
    assert.equal(tracer.spans[0]!.attributes['stowage.bytes'], 99_990);

    const early = await driver.reader('/r');
    early.destroy();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(tracer.spans[1]!.ended, true);
    assert.equal(tracer.spans[1]!.attributes['stowage.outcome'], 'ok');
    await assert.rejects(driver.reader('/nothing'));
    assert.equal(tracer.spans[2]!.attributes['stowage.outcome'], 'not_found');
  });

  it("a writer's span lasts until its session ends (commit, close or cancel) and counts the bytes written, asWritable included", async () => {
    const writer = await driver.writer('/w');
    await writer.write(Buffer.from('abc'));
    assert.equal(tracer.spans[0]!.ended, false);
    await writer.write(Buffer.from('de'));
    await writer.commit();
    assert.equal(tracer.spans[0]!.ended, true);
    assert.equal(tracer.spans[0]!.attributes['stowage.bytes'], 5);
    assert.equal(tracer.spans[0]!.attributes['stowage.writer.end'], 'commit');

    const piped = await driver.writer('/p');
    await pipeline(Readable.from([Buffer.from('1234'), Buffer.from('56')]), piped.asWritable({ onFinish: 'close' }));
    assert.equal(tracer.spans[1]!.attributes['stowage.bytes'], 6);
    assert.equal(tracer.spans[1]!.attributes['stowage.writer.end'], 'close');
    const resumed = await driver.writer('/p', true);
    await resumed.cancel();
    assert.equal(events.at(-1)!.writerEnd, 'cancel');
    assert.equal(events.at(-1)!.outcome, 'ok');
  });

  it("with a context manager, the driver runs inside the call's span, and the span nests under the caller's", async () => {
    context.setGlobalContextManager(new LocalContextManager());
    try {
      await inner.memory.putContent('/s', Buffer.from('x'));
      const outer = tracer.getTracer().startSpan('request');
      await context.with(trace.setSpan(context.active(), outer), () => driver.stat('/s'));
      const span = tracer.spans.find((recorded) => recorded.name === 'stowage stat')!;
      assert.equal(inner.activeDuringStat, span, 'the driver sees the stat span as active');
      assert.equal(span.parent, outer);
    } finally {
      context.disable();
    }
  });

  it('uses the global providers by default, and is a no-op without them; a throwing hook is ignored', async () => {
    trace.setGlobalTracerProvider(tracer);
    metrics.setGlobalMeterProvider(meter);
    try {
      const global = new InstrumentMiddleware(inner);
      await global.putContent('/g', Buffer.from('x'));
      assert.equal(tracer.spans.at(-1)!.attributes['stowage.driver'], 'inmemory');
      assert.equal(meter.of('stowage.operation.duration', 'putContent').length, 1);
    } finally {
      trace.disable();
      metrics.disable();
    }
    const before = tracer.spans.length;
    const noop = new InstrumentMiddleware(inner, {
      onEvent: () => {
        throw new Error('broken hook');
      },
    });
    await noop.putContent('/n', Buffer.from('x'));
    assert.equal((await noop.getContent('/n')).toString(), 'x');
    assert.equal(tracer.spans.length, before, 'nothing recorded without an SDK');
  });
});
