import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isAborted, isStorageDriverError, readAll } from '@stowage/core';
import { InMemoryDriver } from '@stowage/inmemory';

/** A backend stream: `chunks` chunks of 64 KiB, then (optionally) a failure the way `fail` says. */
class Source extends Readable {
  reads = 0;
  released = false;
  private sent = 0;

  constructor(
    private readonly chunks: number,
    private readonly fail?: 'destroy' | 'emit',
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    this.reads++;
    if (this.sent === this.chunks) {
      const raw = Object.assign(new Error('connection reset by backend'), { code: 'ECONNRESET' });
      if (this.fail === 'destroy') this.destroy(raw);
      else if (this.fail === 'emit') this.emit('error', raw);
      else this.push(null);
      return;
    }
    this.sent++;
    this.push(Buffer.alloc(64 * 1024, this.sent));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.released = true;
    // Like undici's response body: letting go of an unfinished stream is an error of its own.
    callback(err ?? (this.readableEnded ? null : new Error('request aborted')));
  }
}

/** An in-memory driver whose reader is the given backend stream, for the base's error mapping. */
class SourceDriver extends InMemoryDriver {
  source: Source | undefined;
  constructor(private readonly make: () => Source) {
    super();
  }
  protected override async _reader(): Promise<Readable> {
    this.source = this.make();
    return this.source;
  }
}

describe('core: reader error mapping on the source stream', () => {
  it('hands out the source itself (no second stream) and a mid-stream failure arrives typed', async () => {
    for (const fail of ['destroy', 'emit'] as const) {
      const driver = new SourceDriver(() => new Source(3, fail));
      const stream = await driver.reader('/f');
      assert.equal(stream, driver.source, 'the reader is the backend stream');
      let received = 0;
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) received += (chunk as Buffer).length;
        })(),
        (err: unknown) => isStorageDriverError(err) && (err as Error & { cause?: { code?: string } }).cause?.code === 'ECONNRESET',
        `${fail}: a typed error with the raw one as cause`,
      );
      assert.equal(received, 3 * 64 * 1024, `${fail}: every chunk before the failure`);
      if (fail === 'destroy') assert.ok(isStorageDriverError(stream.errored), 'errored is the typed error');
    }
  });

  it('a failure reaches pipeline and error listeners typed', async () => {
    const driver = new SourceDriver(() => new Source(2, 'destroy'));
    const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
    await assert.rejects(pipeline(await driver.reader('/f'), sink), isStorageDriverError);

    const listened = new SourceDriver(() => new Source(1, 'emit'));
    const stream = await listened.reader('/f');
    const err = await new Promise((resolve) => stream.on('error', resolve).resume());
    assert.ok(isStorageDriverError(err));
  });

  it('the signal destroys the source with a typed abort error, also when aborted before reading', async () => {
    const controller = new AbortController();
    const driver = new SourceDriver(() => new Source(1000));
    const stream = await driver.reader('/f', 0, { signal: controller.signal });
    const chunks = stream[Symbol.asyncIterator]();
    assert.equal((await chunks.next()).done, false);
    controller.abort();
    assert.ok(driver.source!.released, 'the source is released at once');
    await assert.rejects(
      (async () => {
        while (!(await chunks.next()).done);
      })(),
      isAborted,
    );

    const early = new AbortController();
    const unread = await driver.reader('/f', 0, { signal: early.signal });
    early.abort();
    await assert.rejects(readAll(unread), isAborted);
  });

  it('destroy releases the source, and the source is read no further than its read-ahead', async () => {
    const driver = new SourceDriver(() => new Source(1000));
    const stream = await driver.reader('/f');
    stream.once('data', () => stream.pause());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const source = driver.source!;
    assert.ok(source.reads < 10, `backpressure: ${source.reads} reads of a stream nobody consumes`);
    let errored: unknown;
    stream.on('error', (err) => (errored = err));
    stream.destroy();
    assert.ok(source.released && source.destroyed, 'destroy released the source');
    await new Promise((resolve) => stream.once('close', resolve));
    assert.equal(errored, undefined, "destroy() without an error emits none, whatever the source's own _destroy says");
  });

  it('a stream that ends normally keeps no listener on the signal', async () => {
    const controller = new AbortController();
    const driver = new SourceDriver(() => new Source(2));
    const stream = await driver.reader('/f', 0, { signal: controller.signal });
    assert.equal((await readAll(stream)).length, 2 * 64 * 1024);
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    assert.equal(stream.errored, null, 'an abort after the end changes nothing');
  });
});
