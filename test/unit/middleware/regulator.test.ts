/** regulator: at most N calls, open readers and open writers at once; slots held until streams and sessions end. */
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { isAborted, isInvalidParameter, readAll } from '@stowage/core';
import { ChaosMiddleware, RegulatorMiddleware } from '@stowage/middleware';
import { ScriptedDriver, isPending } from './helpers';

describe('middleware: regulator', () => {
  it('runs at most maxConcurrency calls at once and serves every call', async () => {
    const inner = new ScriptedDriver();
    inner.delayMs = 5;
    const driver = new RegulatorMiddleware(inner, { maxConcurrency: 3 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => driver.putContent(`/f${i}`, Buffer.from(String(i)))));
    const contents = await Promise.all(Array.from({ length: 20 }, (_, i) => driver.getContent(`/f${i}`)));
    assert.deepEqual(
      contents.map(String),
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
    assert.equal(inner.maxRunning, 3);
    assert.equal(driver.active, 0);
    assert.equal(driver.waiting, 0);
  });

  it('a reader holds its slot until its stream is read to the end, or destroyed', async () => {
    const inner = new ScriptedDriver();
    const driver = new RegulatorMiddleware(inner, { maxConcurrency: 1 });
    await driver.putContent('/r', Buffer.alloc(1000, 1));
    const stream = await driver.reader('/r');
    const stat = driver.stat('/r');
    assert.equal(await isPending(stat), true, 'the open reader holds the only slot');
    assert.equal((await readAll(stream)).length, 1000);
    assert.equal((await stat).size, 1000);

    const second = await driver.reader('/r');
    const list = driver.list('/');
    assert.equal(await isPending(list), true);
    second.destroy();
    assert.deepEqual(await list, ['/r']);
    assert.equal(driver.active, 0);
  });

  it('a reader that fails to open gives its slot back', async () => {
    const driver = new RegulatorMiddleware(new ScriptedDriver(), { maxConcurrency: 1 });
    await assert.rejects(driver.reader('/missing'));
    assert.equal(driver.active, 0);
  });

  for (const end of ['commit', 'cancel', 'close'] as const) {
    it(`a writer holds its slot until it ${end}s`, async () => {
      const driver = new RegulatorMiddleware(new ScriptedDriver(), { maxConcurrency: 1 });
      const writer = await driver.writer('/w');
      await writer.write(Buffer.from('abc'));
      const stat = driver.list('/');
      assert.equal(await isPending(stat), true, 'the open writer holds the only slot');
      await writer[end]();
      await stat;
      assert.equal(driver.active, 0);
    });
  }

  it('a writer gives its slot back when a write fails (the writer is broken), and through asWritable on commit', async () => {
    const chaos = new ChaosMiddleware(new ScriptedDriver(), { seed: 1, streamFailureRate: 1, operations: ['writer'] });
    const driver = new RegulatorMiddleware(chaos, { maxConcurrency: 1 });
    const writer = await driver.writer('/w');
    await assert.rejects(writer.write(Buffer.from('abc')));
    assert.equal(driver.active, 0);
    await writer.cancel();

    const plain = new RegulatorMiddleware(new ScriptedDriver(), { maxConcurrency: 1 });
    const piped = await plain.writer('/p');
    await pipeline(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), piped.asWritable({ onFinish: 'commit' }));
    assert.equal(plain.active, 0);
    assert.equal((await plain.getContent('/p')).toString(), 'abcd');
  });

  it('a walk gives its slot back while the callback runs, so the callback may call the driver', async () => {
    const driver = new RegulatorMiddleware(new ScriptedDriver(), { maxConcurrency: 1 });
    await driver.putContent('/d/a', Buffer.from('1'));
    await driver.putContent('/d/b', Buffer.from('22'));
    const sizes: number[] = [];
    await driver.walk('/d', async (info) => {
      if (!info.isDir) sizes.push((await driver.stat(info.path)).size);
    });
    assert.deepEqual(sizes, [1, 2]);
    assert.equal(driver.active, 0);
  });

  it('a call waiting for a slot rejects at once when its signal fires, and leaves the queue', async () => {
    const driver = new RegulatorMiddleware(new ScriptedDriver(), { maxConcurrency: 1 });
    await driver.putContent('/x', Buffer.from('x'));
    const held = await driver.reader('/x');
    const controller = new AbortController();
    const waiting = driver.stat('/x', { signal: controller.signal });
    assert.equal(driver.waiting, 1);
    controller.abort();
    await assert.rejects(waiting, isAborted);
    assert.equal(driver.waiting, 0);
    held.destroy();
    assert.equal((await driver.stat('/x')).size, 1);
  });

  it('refuses a bound below 1 or not an integer', () => {
    assert.throws(() => new RegulatorMiddleware(new ScriptedDriver(), { maxConcurrency: 0 }), isInvalidParameter);
    assert.throws(() => new RegulatorMiddleware(new ScriptedDriver(), { maxConcurrency: 1.5 }), isInvalidParameter);
    assert.equal(new RegulatorMiddleware(new ScriptedDriver()).maxConcurrency, 100);
  });
});
