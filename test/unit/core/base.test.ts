import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import {
  DriverDecorator,
  RedirectMiddleware,
  isInvalidParameter,
  Semaphore,
  isAborted,
  isInvalidArgument,
  isInvalidOffset,
  isInvalidPath,
  isPathNotFound,
  isStorageDriverError,
  isWriterStateError,
  readAll,
  walkFallback,
  type FileInfo,
} from '@stowage/core';
import { InMemoryDriver } from '@stowage/inmemory';

describe('core: base driver and writer', () => {
  let driver: InMemoryDriver;
  beforeEach(() => {
    driver = new InMemoryDriver();
  });

  it('validates before any I/O: a bad path changes nothing', async () => {
    await assert.rejects(driver.putContent('/a/../b', Buffer.from('x')), isInvalidPath);
    await assert.rejects(driver.move('/a', '/'), isInvalidPath);
    await assert.rejects(driver.delete('/'), isInvalidPath);
    assert.deepEqual(await driver.list('/'), []);
  });

  it('rejects bad offsets, bad content and bad arguments with typed errors', async () => {
    await driver.putContent('/f', Buffer.from('abc'));
    await assert.rejects(driver.reader('/f', -1), isInvalidOffset);
    await assert.rejects(driver.reader('/f', 1.5), isInvalidOffset);
    await assert.rejects(driver.putContent('/g', 'text' as unknown as Uint8Array), isInvalidArgument);
    await assert.rejects(driver.writer('/g', 'yes' as unknown as boolean), isInvalidArgument);
    await assert.rejects(driver.purgeUploads(new Date(NaN)), isInvalidArgument);
    await assert.rejects(driver.redirectURL('/f', { expiresIn: -1 }), isInvalidArgument);
    await assert.rejects(driver.walk('/', 'nope' as never), isInvalidArgument);
    await assert.rejects(
      driver.walk('/', () => undefined, { startAfterHint: '../x' }),
      isInvalidPath,
    );
    await assert.rejects(driver.stat('/g'), isPathNotFound);
  });

  it('writer state machine: misuse is WriterStateError, close is idempotent', async () => {
    const w = await driver.writer('/w');
    await w.write(Buffer.from('abc'));
    assert.equal(w.size, 3);
    await w.commit();
    await assert.rejects(w.write(Buffer.from('x')), isWriterStateError);
    await assert.rejects(w.commit(), isWriterStateError);
    await assert.rejects(w.cancel(), isWriterStateError);
    await w.close();

    const c = await driver.writer('/c');
    await c.write(Buffer.from('abc'));
    await c.close();
    await c.close();
    await assert.rejects(c.write(Buffer.from('x')), isWriterStateError);
    await assert.rejects(c.cancel(), isWriterStateError);
    const resumed = await driver.writer('/c', true);
    assert.equal(resumed.size, 3);
    await resumed.cancel();
    await resumed.cancel();
    await assert.rejects(resumed.write(Buffer.from('x')), isWriterStateError);
    await assert.rejects(driver.writer('/c', true), isPathNotFound);
  });

  it('writer calls are serialised in call order even when not awaited', async () => {
    const w = await driver.writer('/ordered');
    const writes = [];
    for (let i = 0; i < 50; i++) writes.push(w.write(Buffer.from([i])));
    writes.push(w.commit());
    await Promise.all(writes);
    assert.deepEqual(
      [...(await driver.getContent('/ordered'))],
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('asWritable works with stream.pipeline and commits on finish when asked', async () => {
    const w = await driver.writer('/piped');
    await pipeline(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), w.asWritable({ onFinish: 'commit' }));
    assert.equal((await driver.getContent('/piped')).toString(), 'abcd');
  });

  it("an aborted signal rejects with ERR_ABORTED and the writer's signal stops later writes", async () => {
    const controller = new AbortController();
    const w = await driver.writer('/aborted', false, { signal: controller.signal });
    await w.write(Buffer.from('a'));
    controller.abort();
    await assert.rejects(w.write(Buffer.from('b')), isAborted);
    await assert.rejects(driver.stat('/', { signal: controller.signal }), isAborted);
    await w.cancel();
  });

  it('aborting mid-read destroys the stream with a typed abort error', async () => {
    await driver.putContent('/big', Buffer.alloc(1024 * 1024, 1));
    const controller = new AbortController();
    const stream = await driver.reader('/big', 0, { signal: controller.signal });
    controller.abort();
    await assert.rejects(readAll(stream), (err: unknown) => isAborted(err) && (err as { driverName?: string }).driverName === 'inmemory');
  });

  it('maps hook errors: unknown errors become StorageDriverError with the cause', async () => {
    class Broken extends InMemoryDriver {
      protected override async _stat(): Promise<FileInfo> {
        throw new Error('disk on fire');
      }
    }
    const broken = new Broken();
    await assert.rejects(broken.stat('/x'), (err: unknown) => isStorageDriverError(err) && (err as Error).cause instanceof Error);
  });

  it("walk passes the callback's own error through unmapped", async () => {
    await driver.putContent('/d/f', Buffer.from('x'));
    const mine = new Error('mine');
    await assert.rejects(
      driver.walk('/', () => {
        throw mine;
      }),
      (err) => err === mine,
    );
  });

  it('walkFallback honours order, skip, stop and startAfterHint', async () => {
    for (const p of ['/a/x', '/a/y/z', '/a-b', '/b/c', '/b/d']) await driver.putContent(p, Buffer.from(p));
    const seen = async (opts: Parameters<typeof walkFallback>[3], decide: (i: FileInfo) => 'skip' | 'stop' | void = () => undefined) => {
      const out: string[] = [];
      await walkFallback(
        driver,
        '/',
        (info) => {
          out.push(info.path);
          return decide(info);
        },
        opts,
      );
      return out;
    };
    assert.deepEqual(await seen({}), ['/a', '/a/x', '/a/y', '/a/y/z', '/a-b', '/b', '/b/c', '/b/d']);
    assert.deepEqual(await seen({}, (i) => (i.path === '/a' ? 'skip' : undefined)), ['/a', '/a-b', '/b', '/b/c', '/b/d']);
    assert.deepEqual(await seen({}, (i) => (i.path === '/a-b' ? 'stop' : undefined)), ['/a', '/a/x', '/a/y', '/a/y/z', '/a-b']);
    assert.deepEqual(await seen({ startAfterHint: '/a/y' }), ['/a/y/z', '/a-b', '/b', '/b/c', '/b/d']);
    assert.deepEqual(await seen({ startAfterHint: '/a/q' }), ['/a/x', '/a/y', '/a/y/z', '/a-b', '/b', '/b/c', '/b/d']);
    assert.deepEqual(await seen({ startAfterHint: '/zzz' }), []);
  });

  it('Semaphore never runs more than its capacity at once', async () => {
    const semaphore = new Semaphore(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        semaphore.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running--;
        }),
      ),
    );
    assert.equal(peak, 3);
    assert.throws(() => new Semaphore(0), RangeError);
  });
});

describe('core: middleware', () => {
  it('RedirectMiddleware answers baseurl + path for existing files and forwards everything else', async () => {
    const inner = new InMemoryDriver();
    const driver = new RedirectMiddleware(inner, { baseurl: 'https://cdn.example.test/registry/' });
    await driver.putContent('/a/b', Buffer.from('x'));
    assert.equal(driver.name, 'inmemory');
    assert.equal(await driver.redirectURL('/a/b'), 'https://cdn.example.test/registry/a/b');
    assert.equal((await inner.getContent('/a/b')).toString(), 'x');
    await assert.rejects(driver.redirectURL('/missing'), isPathNotFound);
    await assert.rejects(driver.redirectURL('/a/../b'), isInvalidPath);
    assert.throws(() => new RedirectMiddleware(inner, { baseurl: 'not a url' }), isInvalidParameter);
    assert.throws(() => new RedirectMiddleware(inner, { baseurl: 'ftp://host/' }), isInvalidParameter);
  });

  it('DriverDecorator subclasses change one method and keep the rest', async () => {
    class CountingReads extends DriverDecorator {
      reads = 0;
      override getContent(path: string) {
        this.reads++;
        return super.getContent(path);
      }
    }
    const driver = new CountingReads(new InMemoryDriver());
    await driver.putContent('/f', Buffer.from('abc'));
    assert.equal((await driver.getContent('/f')).toString(), 'abc');
    assert.equal(driver.reads, 1);
    assert.deepEqual(await driver.list('/'), ['/f']);
  });
});
