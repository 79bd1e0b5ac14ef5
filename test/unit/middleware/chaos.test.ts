/** chaos: injected errors, latency and mid-stream failures by rate, the same for the same seed. */
import assert from 'node:assert/strict';
import { isAborted, isStorageDriverError, isTransient, isWriterStateError, readAll } from '@stowage/core';
import { ChaosMiddleware } from '@stowage/middleware';
import { ScriptedDriver } from './helpers';

/** Which of 200 stat calls fail, for a seed and rate. */
async function failures(seed: number, errorRate: number): Promise<number[]> {
  const inner = new ScriptedDriver();
  await inner.memory.putContent('/f', Buffer.from('x'));
  const chaos = new ChaosMiddleware(inner, { seed, errorRate });
  const failed: number[] = [];
  for (let i = 0; i < 200; i++) {
    await chaos.stat('/f').catch((err: unknown) => {
      assert.ok(isStorageDriverError(err) && isTransient(err), 'an injected failure is a transient StorageDriverError');
      assert.match(err.message, new RegExp(`^inmemory: stat /f failed: chaos: injected failure \\(seed ${seed}\\)`));
      failed.push(i);
    });
  }
  assert.equal(chaos.injected.errors, failed.length);
  return failed;
}

describe('middleware: chaos', () => {
  it('fails calls at about the rate, never reaching the driver, and the same seed fails the same calls', async () => {
    const first = await failures(1234, 0.25);
    assert.ok(first.length > 25 && first.length < 75, `about 50 of 200 fail, got ${first.length}`);
    assert.deepEqual(await failures(1234, 0.25), first);
    assert.notDeepEqual(await failures(4321, 0.25), first);
    assert.deepEqual(await failures(1, 0), []);
    assert.equal((await failures(1, 1)).length, 200);
  });

  it('a failed call never reaches the driver; other operations are untouched when `operations` is given', async () => {
    const inner = new ScriptedDriver();
    const chaos = new ChaosMiddleware(inner, { seed: 5, errorRate: 1, operations: ['getContent'] });
    await chaos.putContent('/f', Buffer.from('abc'));
    await assert.rejects(chaos.getContent('/f'), isTransient);
    assert.equal(inner.calls.getContent, undefined);
    assert.equal((await chaos.stat('/f')).size, 3);
  });

  it('adds latency by rate, up to maxLatency, cut short by the signal', async () => {
    const chaos = new ChaosMiddleware(new ScriptedDriver(), { seed: 9, latencyRate: 1, maxLatencyMs: 30 });
    const started = Date.now();
    for (let i = 0; i < 10; i++) await chaos.list('/');
    const elapsed = Date.now() - started;
    assert.equal(chaos.injected.latencies, 10);
    assert.ok(elapsed >= 20 && elapsed < 2000, `10 waits of 0-30 ms, took ${elapsed} ms`);

    const slow = new ChaosMiddleware(new ScriptedDriver(), { seed: 9, latencyRate: 1, maxLatencyMs: 60_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 10);
    await assert.rejects(slow.list('/', { signal: controller.signal }), isAborted);
  });

  it('breaks reader streams part-way with a transient error, after the same bytes for the same seed', async () => {
    const content = Buffer.alloc(256 * 1024, 7);
    const run = async () => {
      const inner = new ScriptedDriver();
      await inner.memory.putContent('/big', content);
      const chaos = new ChaosMiddleware(inner, { seed: 99, streamFailureRate: 1 });
      const stream = await chaos.reader('/big');
      let received = 0;
      stream.on('data', (chunk: Buffer) => (received += chunk.length));
      const err = await new Promise<unknown>((resolve) => stream.on('error', resolve));
      assert.ok(isTransient(err), String(err));
      assert.match(String((err as Error).message), /^inmemory: reader \/big failed: chaos: stream failed after \d+ bytes/);
      return received;
    };
    const first = await run();
    assert.ok(first < content.length);
    assert.equal(await run(), first);
    const untouched = new ChaosMiddleware(new ScriptedDriver(), { seed: 99, streamFailureRate: 0 });
    await untouched.putContent('/f', content);
    assert.equal((await readAll(await untouched.reader('/f'))).length, content.length);
  });

  it('fails writer writes by rate; the writer is then broken (write and commit refused) and nothing is published', async () => {
    const inner = new ScriptedDriver();
    const chaos = new ChaosMiddleware(inner, { seed: 3, streamFailureRate: 1, operations: ['writer'] });
    const writer = await chaos.writer('/w');
    await assert.rejects(writer.write(Buffer.from('abc')), isTransient);
    await assert.rejects(writer.write(Buffer.from('abc')), isWriterStateError);
    await assert.rejects(writer.commit(), isWriterStateError);
    await writer.cancel();
    await assert.rejects(inner.memory.stat('/w'));
    assert.equal(chaos.injected.streamFailures, 1);
  });

  it('picks and exposes a seed when none is given, and refuses bad options', () => {
    const chaos = new ChaosMiddleware(new ScriptedDriver());
    assert.ok(Number.isInteger(chaos.seed) && chaos.seed >= 0);
    for (const options of [
      { seed: -1 },
      { seed: 2 ** 32 },
      { errorRate: 2 },
      { latencyRate: -0.1 },
      { maxLatencyMs: -1 },
      { operations: ['nope' as 'stat'] },
    ]) {
      assert.throws(
        () => new ChaosMiddleware(new ScriptedDriver(), options),
        (err: Error) => err.message.startsWith('chaos: '),
      );
    }
  });
});
