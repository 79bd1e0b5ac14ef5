/** retryRead, the loop drivers run below their SDK's retry for reads it does not retry (a body cut after the headers). */
import assert from 'node:assert/strict';
import { retryRead } from '@stowage/core/internal';

const cut = () => Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
const isCut = (err: unknown) => (err as { code?: string }).code === 'ECONNRESET';

/** A read that fails `failures` times with `error()`, then returns 'ok'; counts its calls. */
function flaky(failures: number, error: () => Error = cut) {
  const read = async () => {
    read.calls++;
    if (read.calls <= failures) throw error();
    return 'ok';
  };
  read.calls = 0;
  return read;
}

describe('core: retryRead', () => {
  it('reads again after retriable failures, waiting delayMs(attempt) between attempts', async () => {
    const read = flaky(2);
    const waits: number[] = [];
    const value = await retryRead(read, { attempts: 4, delayMs: (attempt) => (waits.push(attempt), 1), retriable: isCut });
    assert.equal(value, 'ok');
    assert.equal(read.calls, 3);
    assert.deepEqual(waits, [1, 2]);
  });

  it('gives up after `attempts` in all, with the last failure', async () => {
    const read = flaky(10);
    await assert.rejects(retryRead(read, { attempts: 3, delayMs: () => 1, retriable: isCut }), (err: unknown) => isCut(err));
    assert.equal(read.calls, 3);
  });

  it('never reads again after a failure that is not retriable', async () => {
    const read = flaky(1, () => Object.assign(new Error('NoSuchKey'), { code: 'NoSuchKey' }));
    await assert.rejects(retryRead(read, { attempts: 4, delayMs: () => 1, retriable: isCut }), { code: 'NoSuchKey' });
    assert.equal(read.calls, 1);
  });

  it('an abort ends a wait at once, and no attempt starts after it', async () => {
    const read = flaky(10);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(retryRead(read, { attempts: 4, delayMs: () => 10_000, retriable: isCut, signal: controller.signal }), { name: 'AbortError' });
    assert.ok(Date.now() - started < 5000, 'did not sit out the 10 s wait');
    assert.equal(read.calls, 1);
  });
});
