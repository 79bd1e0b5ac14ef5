/** retry: transient failures of idempotent calls are retried with full-jitter backoff, within a budget; nothing else is. */
import assert from 'node:assert/strict';
import {
  isAborted,
  isInvalidParameter,
  isPathNotFound,
  isTransient,
  readAll,
  StorageDriverError,
  type OpOptions,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import { ChaosMiddleware, RetryMiddleware, type RetryEvent } from '@stowage/middleware';
import { Readable } from 'node:stream';
import { DriverDecorator, type StorageDriver } from '@stowage/core';
import { ScriptedDriver, transientError } from './helpers';

/** Cuts the next `cuts` reader streams after `after` bytes with a transient error; `onCut` runs at each cut (e.g. to replace the file). */
class CuttingDriver extends DriverDecorator {
  opened = 0;
  constructor(
    inner: StorageDriver,
    private cuts: number,
    private readonly after: number,
    private readonly onCut: () => Promise<void> = async () => {},
  ) {
    super(inner);
  }
  override async reader(path: string, offset?: number, opts?: OpOptions): Promise<Readable> {
    this.opened++;
    const content = await this.inner.getContent(path, opts);
    const from = content.subarray(offset ?? 0);
    if (this.cuts === 0) return Readable.from([from.subarray(0, 5), from.subarray(5)]);
    this.cuts--;
    const head = from.subarray(0, this.after);
    const onCut = this.onCut;
    return Readable.from(
      (async function* () {
        yield head;
        await onCut();
        throw transientError('reader', path);
      })(),
    );
  }
}

/** Fast retries: waits of at most a few ms. */
function fast(inner: ScriptedDriver | ChaosMiddleware, options: ConstructorParameters<typeof RetryMiddleware>[1] = {}) {
  const events: RetryEvent[] = [];
  const driver = new RetryMiddleware(inner, { baseDelayMs: 1, maxDelayMs: 4, onRetry: (event) => events.push(event), ...options });
  return { driver, events };
}

describe('middleware: retry', () => {
  it('retries each idempotent call after transient failures and returns its result', async () => {
    const inner = new ScriptedDriver();
    const { driver, events } = fast(inner);
    await inner.memory.putContent('/a/f', Buffer.from('content'));
    for (const operation of ['getContent', 'stat', 'list', 'reader', 'redirectURL', 'putContent']) inner.failNext(operation, 2);
    assert.equal((await driver.getContent('/a/f')).toString(), 'content');
    assert.equal((await driver.stat('/a/f')).size, 7);
    assert.deepEqual(await driver.list('/a'), ['/a/f']);
    assert.equal((await readAll(await driver.reader('/a/f', 3))).toString(), 'tent');
    assert.match((await driver.redirectURL('/a/f'))!, /^https:\/\/store\.example\.test/);
    await driver.putContent('/a/g', Buffer.from('new'));
    assert.equal((await inner.memory.getContent('/a/g')).toString(), 'new');
    for (const operation of ['getContent', 'stat', 'list', 'reader', 'redirectURL', 'putContent']) assert.equal(inner.calls[operation], 3, operation);
    assert.equal(events.length, 12);
    assert.deepEqual(
      events.filter((event) => event.operation === 'stat').map((event) => event.attempt),
      [1, 2],
    );
  });

  it('never retries writers, move or purgeUploads, nor final errors (PathNotFound, plain StorageDriverError)', async () => {
    const inner = new ScriptedDriver();
    const { driver } = fast(inner);
    await inner.memory.putContent('/src', Buffer.from('x'));
    inner.failNext('writer', 1);
    inner.failNext('move', 1);
    inner.failNext('purgeUploads', 1);
    await assert.rejects(driver.writer('/w'), isTransient);
    await assert.rejects(driver.move('/src', '/dst'), isTransient);
    await assert.rejects(driver.purgeUploads(new Date()), isTransient);
    assert.deepEqual([inner.calls.writer, inner.calls.move, inner.calls.purgeUploads], [1, 1, 1]);
    await assert.rejects(driver.stat('/missing'), isPathNotFound);
    assert.equal(inner.calls.stat, 1);
    inner.failNext('getContent', 1, () => new StorageDriverError('inmemory', new Error('403 Forbidden'), { operation: 'getContent' }));
    await assert.rejects(driver.getContent('/src'), (err) => !isTransient(err));
    assert.equal(inner.calls.getContent, 1);
  });

  it('a delete retried after a transient failure that then finds nothing resolves; a first attempt that finds nothing does not', async () => {
    const inner = new ScriptedDriver();
    const { driver } = fast(inner);
    await inner.memory.putContent('/gone', Buffer.from('x'));
    // The failed attempt deleted the path, then lost its answer.
    inner.failNext('delete', 1, () => {
      void inner.memory.delete('/gone');
      return new StorageDriverError('inmemory', new Error('socket hang up'), { operation: 'delete', transient: true });
    });
    await driver.delete('/gone');
    assert.equal(inner.calls.delete, 2);
    await assert.rejects(driver.delete('/never'), isPathNotFound);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const inner = new ScriptedDriver();
    const { driver, events } = fast(inner, { maxAttempts: 3 });
    inner.failNext('stat', 5);
    await assert.rejects(driver.stat('/x'), isTransient);
    assert.equal(inner.calls.stat, 3);
    assert.equal(events.length, 2);
  });

  it('waits with full jitter under an exponential cap, capped by maxDelay, and stops at the budget', async () => {
    const inner = new ScriptedDriver();
    const events: RetryEvent[] = [];
    // random() = 0.999...: each wait is just under its cap.
    const driver = new RetryMiddleware(inner, {
      maxAttempts: 10,
      baseDelayMs: 2,
      maxDelayMs: 8,
      budgetMs: 24,
      random: () => 0.9999,
      onRetry: (event) => events.push(event),
    });
    inner.failNext('stat', 20);
    await assert.rejects(driver.stat('/x'), isTransient);
    // Caps 2, 4, 8, 8, 8: waits 1, 3, 7, 7 (18 ms); the next 7 would pass the 24 ms budget.
    assert.deepEqual(
      events.map((event) => event.delayMs),
      [1, 3, 7, 7],
    );
    assert.equal(inner.calls.stat, 5);

    const zero = new RetryMiddleware(new ScriptedDriver(), { baseDelayMs: 1000, random: () => 0 });
    const scripted = (zero as unknown as { inner: ScriptedDriver }).inner;
    scripted.failNext('list', 3);
    const started = Date.now();
    assert.deepEqual(await zero.list('/'), []);
    assert.ok(Date.now() - started < 500, 'random() = 0: no wait');
  });

  it('an abort during a wait rejects at once with OperationAbortedError, and no further attempt is made', async () => {
    const inner = new ScriptedDriver();
    const driver = new RetryMiddleware(inner, { baseDelayMs: 60_000, maxDelayMs: 60_000, budgetMs: 600_000, random: () => 0.5 });
    inner.failNext('stat', 1);
    const controller = new AbortController();
    const started = Date.now();
    const pending = driver.stat('/x', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, isAborted);
    assert.ok(Date.now() - started < 5000);
    assert.equal(inner.calls.stat, 1);
  });

  it('a walk that fails mid-way resumes after the last path its callback saw, never showing a path twice', async () => {
    const inner = new FlakyWalk();
    const { driver, events } = fast(inner);
    for (const path of ['/w/a', '/w/b', '/w/c/d', '/w/e']) await inner.memory.putContent(path, Buffer.from('x'));
    const seen: string[] = [];
    inner.failAfter = 3; // the driver fails after the callback saw /w/a, /w/b and /w/c
    await driver.walk('/w', (info) => {
      seen.push(info.path);
    });
    assert.deepEqual(seen, ['/w/a', '/w/b', '/w/c', '/w/c/d', '/w/e']);
    assert.equal(inner.calls.walk, 2);
    assert.equal(events.length, 1);
  });

  it('a walk is not retried when its callback threw (even a transient error) or skipped a directory before the failure', async () => {
    const inner = new FlakyWalk();
    const { driver } = fast(inner);
    for (const path of ['/w/a', '/w/c/d', '/w/e']) await inner.memory.putContent(path, Buffer.from('x'));
    const fromCallback = transientError('stat');
    await assert.rejects(
      driver.walk('/w', () => {
        throw fromCallback;
      }),
      (err) => err === fromCallback,
    );
    assert.equal(inner.calls.walk, 1);
    inner.failAfter = 2; // after /w/a and the skipped /w/c
    await assert.rejects(
      driver.walk('/w', (info) => (info.path === '/w/c' ? 'skip' : undefined)),
      isTransient,
    );
    assert.equal(inner.calls.walk, 2);
  });

  it('refuses bad options with InvalidParameterError naming retry', () => {
    for (const options of [{ maxAttempts: 0 }, { baseDelayMs: 0 }, { baseDelayMs: 10, maxDelayMs: 5 }, { budgetMs: -1 }, { maxAttempts: 2.5 }]) {
      assert.throws(
        () => new RetryMiddleware(new ScriptedDriver(), options),
        (err: Error) => isInvalidParameter(err) && err.message.startsWith('retry: '),
      );
    }
  });

  it('retries transient failures that chaos injects, reproducibly for a seed', async () => {
    const run = async () => {
      const inner = new ScriptedDriver();
      await inner.memory.putContent('/f', Buffer.from('data'));
      const chaos = new ChaosMiddleware(inner, { seed: 7, errorRate: 0.5 });
      const { driver, events } = fast(chaos, { maxAttempts: 20 });
      for (let i = 0; i < 20; i++) assert.equal((await driver.getContent('/f')).toString(), 'data');
      return { retries: events.length, injected: chaos.injected.errors };
    };
    const first = await run();
    assert.ok(first.injected > 0 && first.retries === first.injected);
    assert.deepEqual(await run(), first);
  });

  it('resumes a reader stream cut short where it stopped, after checking the delivered part reads back the same', async () => {
    const inner = new ScriptedDriver();
    await inner.memory.putContent('/blob', Buffer.from('0123456789abcdefghij'));
    const cutting = new CuttingDriver(inner, 2, 4);
    const events: RetryEvent[] = [];
    const driver = new RetryMiddleware(cutting, { baseDelayMs: 1, maxDelayMs: 2, onRetry: (event) => events.push(event) });
    assert.equal((await readAll(await driver.reader('/blob', 2))).toString(), '23456789abcdefghij');
    assert.equal(cutting.opened, 3);
    assert.deepEqual(
      events.map((event) => event.operation),
      ['readerStream', 'readerStream'],
    );
    const off = new RetryMiddleware(new CuttingDriver(inner, 1, 4), { baseDelayMs: 1, maxDelayMs: 2, resumeReads: false });
    await assert.rejects(readAll(await off.reader('/blob')), isTransient);
  });

  it('fails a cut read with its own error, splicing nothing, when the file was replaced before the resume', async () => {
    const inner = new ScriptedDriver();
    await inner.memory.putContent('/blob', Buffer.from('0123456789'));
    const replace = () => inner.memory.putContent('/blob', Buffer.from('ABCDEFGHIJ'));
    const driver = new RetryMiddleware(new CuttingDriver(inner, 1, 4, replace), { baseDelayMs: 1, maxDelayMs: 2 });
    const received: Buffer[] = [];
    const stream = await driver.reader('/blob');
    await assert.rejects(
      (async () => {
        for await (const chunk of stream as AsyncIterable<Buffer>) received.push(chunk);
      })(),
      (err) => isTransient(err) && (err as Error).message.includes('503'),
    );
    assert.equal(Buffer.concat(received).toString(), '0123', 'only the bytes of the first content were delivered');
  });
});

/** A driver whose next walk fails (a transient error from the driver, not the callback) after `failAfter` entries. */
class FlakyWalk extends ScriptedDriver {
  failAfter: number | undefined;
  override walk(path: string, fn: WalkFn, opts?: WalkOptions & OpOptions): Promise<void> {
    const failAfter = this.failAfter;
    this.failAfter = undefined;
    let entries = 0;
    return super.walk(
      path,
      (info) => {
        if (failAfter !== undefined && entries++ === failAfter) throw transientError('walk', path);
        return fn(info);
      },
      opts,
    );
  }
}
