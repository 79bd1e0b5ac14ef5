/**
 * A GetObject body cut after its headers, which the SDK hands over unread and so never retries,
 * against Swift's s3api through the fault proxy: a writer's open that reads the committed tail
 * of a file (more than the 1 MiB read inside the SDK's retry) asks it again, and so does
 * getRange's sibling, the whole-object read behind the upload state.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { MiB, readAll } from '@stowage/core';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../../services/fault-proxy';
import { swiftS3Bucket } from '../../helpers/swift-s3';

describe('s3: a GetObject body cut mid-way is read again (fault proxy, Swift s3api)', function () {
  this.timeout(120_000);
  let options: S3DriverOptions | undefined;
  let admin: S3Driver | undefined;
  let proxy: FaultProxy | undefined;

  before(async function () {
    this.timeout(300_000); // a first Swift start may install its packages
    options = await swiftS3Bucket(this, 'cut-reads');
    admin = new S3Driver(options);
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  after(async () => {
    if (!admin || !options) return;
    await admin.delete('/cut').catch(() => undefined);
    await admin.client.send(new DeleteBucketCommand({ Bucket: options.bucket })).catch(() => undefined);
    admin.destroy();
  });

  /** A driver whose requests go through a proxy that cuts the first `times` GetObjects of `path`'s object (the tail's range read). */
  async function cutting(path: string, times: number): Promise<S3Driver> {
    let left = times;
    proxy = await startFaultProxy({
      target: options!.regionEndpoint!,
      decide: ({ method, url }): FaultKind | undefined => {
        if (left === 0 || method !== 'GET' || !new URL(url, 'http://proxy').pathname.endsWith(path)) return undefined;
        left--;
        return 'truncate';
      },
    });
    return new S3Driver({ ...options!, regionEndpoint: proxy.url });
  }

  for (const times of [1, 2]) {
    it(`writer(path, true) over a file with a ${3} MiB tail past its whole parts opens through ${times} cut read(s) of the tail`, async () => {
      const path = `/cut/append-${times}`;
      const first = randomBytes(8 * MiB); // one 5 MiB part and a 3 MiB tail
      await admin!.putContent(path, first);
      const driver = await cutting(path, times);
      try {
        const writer = await driver.writer(path, true);
        assert.equal(proxy!.counters.faults.truncate, times, 'the tail read was cut');
        assert.equal(writer.size, first.length);
        const more = randomBytes(MiB);
        await writer.write(more);
        await writer.commit();
        assert.ok((await readAll(await admin!.reader(path, 0))).equals(Buffer.concat([first, more])), 'the whole content, tail included');
      } finally {
        driver.destroy();
      }
    });
  }
});
