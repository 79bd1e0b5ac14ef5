/**
 * Fault injection, for tests and for trying an application's resilience: by rate, calls fail
 * before reaching the driver, wait first, or (readers and writers) fail part-way through the
 * stream. Every decision comes from a seeded generator drawn in call order, so the same seed and
 * the same sequence of calls inject the same faults. Injected failures are StorageDriverErrors
 * marked transient (`isTransient`), as a real outage's would be, so retry can be tried on them.
 */
import { Transform, type Readable } from 'node:stream';
import {
  DriverDecorator,
  OperationAbortedError,
  StorageDriverError,
  WriterStateError,
  InvalidParameterError,
  type FileInfo,
  type FileWriter,
  type OpOptions,
  type RedirectOptions,
  type StorageDriver,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { abortableWait } from './wait';
import { durationMs, rate, readOptions, stringList } from './options';
import { ForwardingWriter } from './writer';

/** A StorageDriver method name, as chaos options name them. */
export type ChaosOperation = 'getContent' | 'putContent' | 'reader' | 'writer' | 'stat' | 'list' | 'move' | 'delete' | 'redirectURL' | 'walk' | 'purgeUploads';

/** The operations chaos can touch: every StorageDriver method. */
const OPERATIONS: readonly ChaosOperation[] = [
  'getContent',
  'putContent',
  'reader',
  'writer',
  'stat',
  'list',
  'move',
  'delete',
  'redirectURL',
  'walk',
  'purgeUploads',
];

/** Options of {@link ChaosMiddleware}. */
export interface ChaosOptions {
  /** The generator's seed (an unsigned 32-bit integer); default random, readable back as `seed`. */
  seed?: number;
  /** The share of calls that fail before reaching the driver, 0 to 1 (default 0). */
  errorRate?: number;
  /** The share of calls that wait first, 0 to 1 (default 0). */
  latencyRate?: number;
  /** The longest such wait, in ms (default 100); each wait is drawn from 0 to this. */
  maxLatencyMs?: number;
  /** The share of readers whose stream fails part-way, and of writer writes that fail, 0 to 1 (default 0). */
  streamFailureRate?: number;
  /** The operations touched (default all). */
  operations?: readonly ChaosOperation[];
}

const NAME = 'chaos';

/**
 * A small, fast, seedable generator (mulberry32): 32 bits of state, numbers in [0, 1). Not for
 * anything secret; only reproducibility matters here.
 */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkRate(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1)
    throw new InvalidParameterError(NAME, name, `must be a number from 0 to 1, got ${String(value)}`);
  return value;
}

/** See the module comment. */
export class ChaosMiddleware extends DriverDecorator {
  /** The seed in use: give it back as `seed` to replay the same faults. */
  readonly seed: number;
  /** Faults injected so far, by kind. */
  readonly injected = { errors: 0, latencies: 0, streamFailures: 0 };
  private readonly errorRate: number;
  private readonly latencyRate: number;
  private readonly maxLatencyMs: number;
  private readonly streamFailureRate: number;
  private readonly operations: ReadonlySet<string>;
  private readonly random: () => number;

  constructor(inner: StorageDriver, options: ChaosOptions = {}) {
    super(inner);
    if (options.seed !== undefined && (!Number.isSafeInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff)) {
      throw new InvalidParameterError(NAME, 'seed', `must be an integer from 0 to 4294967295, got ${String(options.seed)}`);
    }
    this.seed = options.seed ?? Math.floor(Math.random() * 0x100000000);
    this.errorRate = checkRate('errorRate', options.errorRate);
    this.latencyRate = checkRate('latencyRate', options.latencyRate);
    this.streamFailureRate = checkRate('streamFailureRate', options.streamFailureRate);
    const maxLatency = options.maxLatencyMs ?? 100;
    if (!Number.isFinite(maxLatency) || maxLatency < 0)
      throw new InvalidParameterError(NAME, 'maxLatencyMs', `must be a duration of 0 or more, got ${String(maxLatency)}`);
    this.maxLatencyMs = maxLatency;
    const unknown = options.operations?.filter((operation) => !(OPERATIONS as readonly string[]).includes(operation));
    if (unknown?.length) throw new InvalidParameterError(NAME, 'operations', `unknown operations ${unknown.join(', ')} (known: ${OPERATIONS.join(', ')})`);
    this.operations = new Set(options.operations ?? OPERATIONS);
    this.random = seededRandom(this.seed);
  }

  override getContent(path: string, opts?: OpOptions): Promise<Buffer> {
    return this.call('getContent', path, opts, () => this.inner.getContent(path, opts));
  }
  override putContent(path: string, content: Uint8Array, opts?: OpOptions): Promise<void> {
    return this.call('putContent', path, opts, () => this.inner.putContent(path, content, opts));
  }
  override stat(path: string, opts?: OpOptions): Promise<FileInfo> {
    return this.call('stat', path, opts, () => this.inner.stat(path, opts));
  }
  override list(path: string, opts?: OpOptions): Promise<string[]> {
    return this.call('list', path, opts, () => this.inner.list(path, opts));
  }
  override move(sourcePath: string, destPath: string, opts?: OpOptions): Promise<void> {
    return this.call('move', sourcePath, opts, () => this.inner.move(sourcePath, destPath, opts));
  }
  override delete(path: string, opts?: OpOptions): Promise<void> {
    return this.call('delete', path, opts, () => this.inner.delete(path, opts));
  }
  override redirectURL(path: string, opts?: RedirectOptions): Promise<string | null> {
    return this.call('redirectURL', path, opts, () => this.inner.redirectURL(path, opts));
  }
  override walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void> {
    return this.call('walk', path, opts, () => this.inner.walk(path, fn, opts));
  }
  override purgeUploads(olderThan: Date, opts?: OpOptions): Promise<number> {
    return this.call('purgeUploads', undefined, opts, () => this.inner.purgeUploads(olderThan, opts));
  }

  override reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable> {
    // Drawn now, in call order, not after the driver answers (answers may come in any order).
    const breaks = this.operations.has('reader') && this.random() < this.streamFailureRate;
    // Fail after a random number of bytes, from 0 to 64 KiB: within the first chunk or a few.
    const failAfter = Math.floor(this.random() * 64 * 1024);
    return this.call('reader', path, opts, async () => {
      const stream = await this.inner.reader(path, offset, opts);
      if (!breaks) return stream;
      this.injected.streamFailures++;
      return failPartWay(stream, failAfter, () => this.fault('reader', path, `stream failed after ${failAfter} bytes`));
    });
  }

  override writer(path: string, append?: boolean, opts?: OpOptions): Promise<FileWriter> {
    return this.call('writer', path, opts, async () => new ChaosWriter(await this.inner.writer(path, append, opts), this, path));
  }

  /** Whether this write fails (drawn in call order); counts it. @internal */
  failsWrite(): boolean {
    if (!this.operations.has('writer') || !(this.random() < this.streamFailureRate)) return false;
    this.injected.streamFailures++;
    return true;
  }

  /** An injected failure: a StorageDriverError marked transient, naming the driver, operation and path. @internal */
  fault(operation: string, path: string | undefined, what = 'injected failure'): StorageDriverError {
    return new StorageDriverError(this.name, new Error(`chaos: ${what} (seed ${this.seed})`), { operation, path, transient: true });
  }

  private async call<T>(operation: ChaosOperation, path: string | undefined, opts: OpOptions | undefined, body: () => Promise<T>): Promise<T> {
    if (this.operations.has(operation)) {
      // Both draws are made on every call, so one decision never shifts the sequence of the other.
      const fails = this.random() < this.errorRate;
      const waits = this.random() < this.latencyRate;
      const delay = Math.floor(this.random() * this.maxLatencyMs);
      if (waits) {
        this.injected.latencies++;
        await abortableWait(delay, opts?.signal, () => new OperationAbortedError(this.name, { operation, path, cause: opts?.signal?.reason }));
      }
      if (fails) {
        this.injected.errors++;
        throw this.fault(operation, path);
      }
    }
    return body();
  }
}

/** A writer whose writes may fail by the chaos rate; after one does, it is broken as after a real failure. */
class ChaosWriter extends ForwardingWriter {
  private failure: Error | undefined;

  constructor(
    inner: FileWriter,
    private readonly chaos: ChaosMiddleware,
    private readonly path: string,
  ) {
    super(inner);
  }

  override async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw new WriterStateError(this.chaos.name, this.path, 'write', 'failed', this.failure);
    if (this.chaos.failsWrite()) {
      this.failure = this.chaos.fault('write', this.path, 'write failed');
      this.end({ how: 'write', error: this.failure });
      throw this.failure;
    }
    return super.write(chunk);
  }

  override commit(): Promise<void> {
    if (this.failure) return Promise.reject(new WriterStateError(this.chaos.name, this.path, 'commit', 'failed', this.failure));
    return super.commit();
  }
}

/** `source` passed through, destroyed with `fault()` once `failAfter` bytes have gone by. */
function failPartWay(source: Readable, failAfter: number, fault: () => Error): Readable {
  let passed = 0;
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (passed + chunk.length <= failAfter) {
        passed += chunk.length;
        callback(null, chunk);
        return;
      }
      const head = chunk.subarray(0, failAfter - passed);
      passed = failAfter;
      if (head.length > 0) this.push(head);
      callback(fault());
    },
    flush(callback) {
      // Content shorter than the failure point still fails: the stream never ends cleanly.
      callback(fault());
    },
  });
  source.on('error', (err) => output.destroy(err));
  output.on('close', () => source.destroy());
  return source.pipe(output);
}

/** The config.yml factory: `seed`, `errorrate`, `latencyrate`, `maxlatency` (a duration), `streamfailurerate`, `operations`. */
export function chaosFromConfig(driver: StorageDriver, options: Record<string, unknown>): ChaosMiddleware {
  const reader = readOptions(NAME, options, ['seed', 'errorrate', 'latencyrate', 'maxlatency', 'streamfailurerate', 'operations']);
  return reader.construct(
    () =>
      new ChaosMiddleware(driver, {
        seed: reader.optionalInteger('seed'),
        errorRate: rate(reader, 'errorrate', 0),
        latencyRate: rate(reader, 'latencyrate', 0),
        maxLatencyMs: reader.has('maxlatency') ? durationMs(reader, 'maxlatency', 100, { allowZero: true }) : undefined,
        streamFailureRate: rate(reader, 'streamfailurerate', 0),
        operations: stringList(reader, 'operations') as ChaosOperation[] | undefined,
      }),
    { errorRate: 'errorrate', latencyRate: 'latencyrate', maxLatencyMs: 'maxlatency', streamFailureRate: 'streamfailurerate' },
  );
}
