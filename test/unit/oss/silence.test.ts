/**
 * oss's silence watchdog on streamed bodies (silenceTimeoutMs) against the local server: a consumer
 * that stops reading is backpressure, not silence, so a reader held longer than the timeout reads on
 * to the end. The stalls themselves are tested through the fault proxy (test/unit/drivers/stall.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, MiB, hasErrorCode, readAll } from '@stowage/core';
import { useLocalOss } from './helpers';

/** Short, so that the holds below outlast it several times over. */
const SILENCE_MS = 300;
const HOLD_MS = 4 * SILENCE_MS;
/** Far more than a stream's buffer and the sockets' together, so a held reader really holds the rest back. */
const SIZE = 8 * MiB;

describe('oss: the silence watchdog counts silence only while the body is wanted', function () {
  this.timeout(30_000);
  const oss = useLocalOss();

  for (const offset of [0, 1000]) {
    it(`a reader (offset ${offset}) paused by its consumer for longer than silenceTimeoutMs reads on to the end`, async () => {
      const driver = await oss.driver({ silenceTimeoutMs: SILENCE_MS });
      const content = randomBytes(SIZE);
      await driver.putContent('/big', content);
      const reader = await driver.reader('/big', offset);
      const chunks: Buffer[] = [];
      reader.on('data', (chunk: Buffer) => chunks.push(chunk));
      await once(reader, 'data');
      // Paused twice: once with the flow switched off, once again halfway through.
      reader.pause();
      await sleep(HOLD_MS);
      assert.equal(reader.destroyed, false, 'held, not failed');
      reader.resume();
      while (Buffer.concat(chunks).length < (SIZE - offset) / 2) await once(reader, 'data');
      reader.pause();
      await sleep(HOLD_MS);
      reader.resume();
      await once(reader, 'end');
      assert.ok(Buffer.concat(chunks).equals(content.subarray(offset)), 'the whole content, in order');
    });
  }

  it('an async iteration whose loop body outlasts silenceTimeoutMs reads on to the end', async () => {
    const driver = await oss.driver({ silenceTimeoutMs: SILENCE_MS });
    const content = randomBytes(SIZE);
    await driver.putContent('/big', content);
    const chunks: Buffer[] = [];
    let held = false;
    for await (const chunk of await driver.reader('/big', 0)) {
      chunks.push(chunk as Buffer);
      if (!held) {
        held = true;
        await sleep(HOLD_MS);
      }
    }
    assert.ok(Buffer.concat(chunks).equals(content));
  });

  it('getContent reads a large object with a short silenceTimeoutMs, and an abort while it reads ends it as OperationAbortedError', async () => {
    const driver = await oss.driver({ silenceTimeoutMs: SILENCE_MS });
    const content = randomBytes(SIZE);
    await driver.putContent('/big', content);
    assert.ok((await driver.getContent('/big')).equals(content));
    const controller = new AbortController();
    const reading = driver.getContent('/big', { signal: controller.signal });
    setImmediate(() => controller.abort());
    await assert.rejects(reading, (err) => hasErrorCode(err, ErrorCode.Aborted));
    assert.ok((await readAll(await driver.reader('/big', SIZE - 10))).equals(content.subarray(SIZE - 10)));
  });
});
