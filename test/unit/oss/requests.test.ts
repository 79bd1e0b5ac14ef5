import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { MiB, readAll } from '@stowage/core';
import { FaultyProxy, useLocalOss, type Fault } from './helpers';

describe('oss: retries, lost responses and aborts against the local server', () => {
  const oss = useLocalOss();
  let proxy: FaultyProxy | undefined;
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });

  async function driverBehind(choose: (req: IncomingMessage, attempt: number) => Fault | undefined, maxRetries = 3) {
    proxy = new FaultyProxy(oss.server.port, choose);
    await proxy.start();
    return oss.driver({ endpoint: proxy.endpoint, maxRetries, chunkSize: 100 * 1024 });
  }

  for (const fault of ['slowdown', 'reset'] as const) {
    it(`every kind of request is retried after ${fault === 'slowdown' ? '503 SlowDown' : 'a connection reset'}`, async () => {
      const driver = await driverBehind((_req, attempt) => (attempt === 1 ? fault : undefined));
      const content = Buffer.alloc(350 * 1024, 3);
      await driver.putContent('/a/small', Buffer.from('small'));
      const writer = await driver.writer('/a/big', false);
      await writer.write(content.subarray(0, 200 * 1024));
      await writer.close();
      const resumed = await driver.writer('/a/big', true);
      await resumed.write(content.subarray(200 * 1024));
      await resumed.commit();
      assert.deepEqual(await driver.getContent('/a/big'), content);
      assert.deepEqual(await readAll(await driver.reader('/a/big', 1000)), content.subarray(1000));
      assert.equal((await driver.stat('/a/small')).size, 5);
      assert.deepEqual(await driver.list('/a'), ['/a/big', '/a/small']);
      await driver.move('/a/small', '/b/small');
      await driver.delete('/a');
      assert.deepEqual(await driver.list('/'), ['/b']);
      const faults = proxy!.faults();
      assert.ok(faults >= 10, `only ${faults} faults were injected`);
    });
  }

  it('gives up after maxretries, and never retries a client error', async () => {
    let driver = await driverBehind(() => 'slowdown', 2);
    await assert.rejects(driver.putContent('/x', Buffer.from('x')), { code: 'ERR_STORAGE_DRIVER' });
    assert.equal(proxy!.log.length, 3, 'one attempt and two retries');
    await proxy!.stop();

    driver = await driverBehind(() => 'denied');
    const err = await driver.getContent('/x').then(
      () => assert.fail('getContent through a denying proxy succeeded'),
      (e: unknown) => e as Error & { code: string; cause: { status: number } },
    );
    assert.equal(err.code, 'ERR_STORAGE_DRIVER');
    // A streamed GET's error body is not parsed by ali-oss: the status is what is known.
    assert.equal(err.cause.status, 403);
    assert.equal(proxy!.log.length, 1, 'AccessDenied is final');
  });

  it('a commit whose CompleteMultipartUpload answer is lost succeeds on the retry that finds the upload completed', async () => {
    const isComplete = (req: IncomingMessage) => req.method === 'POST' && /[?&]uploadId=/.test(req.url ?? '');
    const driver = await driverBehind((req, attempt) => (isComplete(req) && attempt === 1 ? 'lose-response' : undefined));
    const content = Buffer.alloc(300 * 1024, 9);
    const writer = await driver.writer('/blob', false);
    await writer.write(content);
    await writer.commit();
    assert.deepEqual(await driver.getContent('/blob'), content);
    const completes = proxy!.log.filter((entry) => entry.method === 'POST' && entry.url.includes('uploadId='));
    assert.equal(completes.length, 2, 'the lost Complete and its retry');
    assert.deepEqual(await driver.leftovers('/blob'), []);
  });

  it('an aborted putContent destroys its request: it rejects at once and nothing is stored', async () => {
    const driver = await oss.driver();
    const controller = new AbortController();
    const content = Buffer.alloc(256 * MiB, 1);
    const put = driver.putContent('/aborted', content, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    await assert.rejects(put, { code: 'ERR_ABORTED', path: '/aborted' });
    assert.ok(Date.now() - started < 5000, 'rejected promptly');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(oss.keys(driver.bucket), [], 'the server stored nothing');
  });
});
