/**
 * watchSilence, the body watchdog of clients whose own timer ends at a streamed answer's headers
 * (oss): silence while the stream wants data destroys it; a full buffer (a consumer that stopped
 * reading) is backpressure and never does; the end stops the watch.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { readAll } from '@stowage/core';
import { watchSilence } from '@stowage/core/internal';

const SILENCE_MS = 100;
const silenceError = () => Object.assign(new Error('silent'), { code: 'SILENT' });

/** A source fed by hand, as a socket-backed body would be. */
function handFed(): Readable {
  return new Readable({ read() {}, highWaterMark: 1024 });
}

describe('core: watchSilence', () => {
  it('destroys a wanted stream that sends nothing for the timeout, with the given error', async () => {
    const source = watchSilence(handFed(), SILENCE_MS, silenceError);
    source.push(Buffer.from('a'));
    const reading = readAll(source);
    await assert.rejects(reading, { code: 'SILENT' });
    assert.ok(source.destroyed);
  });

  it('every chunk restarts the timer: a body that keeps trickling is never cut', async () => {
    const source = watchSilence(handFed(), SILENCE_MS, silenceError);
    const reading = readAll(source);
    for (let i = 0; i < 6; i++) {
      await sleep(SILENCE_MS / 2);
      source.push(Buffer.from([i]));
    }
    source.push(null);
    assert.deepEqual([...(await reading)], [0, 1, 2, 3, 4, 5]);
  });

  it('a full buffer is backpressure: a consumer that stops reading for many timeouts is not cut', async () => {
    const source = watchSilence(handFed(), SILENCE_MS, silenceError);
    source.push(Buffer.alloc(4096, 7)); // beyond the 1 KiB high-water mark, and nobody reads
    await sleep(SILENCE_MS * 5);
    assert.equal(source.destroyed, false);
    source.push(null);
    assert.equal((await readAll(source)).length, 4096);
  });

  it('stops at the end: a finished stream left alone is never destroyed', async () => {
    const source = watchSilence(handFed(), SILENCE_MS, silenceError);
    const reading = readAll(source);
    source.push(Buffer.from('done'));
    source.push(null);
    assert.equal((await reading).toString(), 'done');
    await sleep(SILENCE_MS * 3);
    assert.equal(source.errored, null);
  });

  it('a stream destroyed by someone else stops the watch', async () => {
    const source = watchSilence(handFed(), SILENCE_MS, silenceError);
    source.destroy();
    await once(source, 'close');
    await sleep(SILENCE_MS * 2);
    assert.equal(source.errored, null);
  });
});
