/**
 * Bounded recovery from a silent connection (issue 16): the s3, swift and oss drivers through the
 * fault proxy, whose stalls take a request in and then send nothing (`stall`), or the headers and
 * half the body and then nothing (`stall-body`), until the client gives up. With a short
 * silenceTimeoutMs (oss: with a short timeoutMs too, ali-oss's per-request deadline, which is what
 * ends its wait for the headers; its silenceTimeoutMs watches the body) the driver gives up on the
 * stalled request and its retry finishes the call; when every attempt stalls, the call fails in
 * bounded time with a transient StorageDriverError naming the driver and the path.
 *
 * Each test may take 40 s (mocha) and must finish within 30 s, against a default of 120 s (oss 60 s):
 * a driver that ignored the option would sit out the first stall and fail both.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { ErrorCode, KiB, MiB, hasErrorCode, isTransient, readAll, type StorageDriver } from '@stowage/core';
import { OssDriver, ossDriverFactory } from '@stowage/oss';
import { S3Driver, s3DriverFactory, type S3DriverOptions } from '@stowage/s3';
import { SwiftDriver, swiftDriverFactory, type SwiftDriverOptions } from '@stowage/swift';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../../services/fault-proxy';
import { swiftS3Bucket } from '../../helpers/swift-s3';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';
import { useLocalOss } from '../oss/helpers';

/** The silence allowed in these tests: short, yet far above a local server's answer time. */
const TIMEOUT_MS = 2000;
/** Attempts per request (the first one stalled, and up to two more). */
const ATTEMPTS = 4;
/** The most a call may take here; a driver waiting out its 120 s default cannot meet it. */
const BOUND_MS = 30_000;

/** A driver under test and what the shared cases need of it. */
interface Subject {
  /** The driver name its errors carry. */
  name: string;
  /** A driver whose requests go through `proxyUrl`, with TIMEOUT_MS and ATTEMPTS. */
  driver(proxyUrl: string): StorageDriver;
  /** The server the proxy forwards to: `http://127.0.0.1:PORT`. */
  upstream: string;
  cleanup(): Promise<void>;
}

async function destroy(driver: StorageDriver): Promise<void> {
  await (driver as { destroy?: () => unknown }).destroy?.();
}

/** Runs `fn`, returning its result (or its rejection, as `error`) and how long it took. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = Date.now();
  try {
    const value = await fn();
    return { value, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

/** The shared cases, over the subject `setup` prepares (in a before hook of this describe). */
function describeStalls(title: string, setup: (context: Mocha.Context) => Promise<Subject>): void {
  describe(title, function () {
    this.timeout(40_000);
    let subject: Subject | undefined;
    let proxy: FaultProxy | undefined;
    let driver: StorageDriver | undefined;
    /** The faults for the next requests, in order; `forever` repeats the last one for every request after. */
    let queued: FaultKind[] = [];
    let forever = false;

    before(async function () {
      this.timeout(300_000); // a first Swift start may install its packages
      subject = await setup(this);
    });

    beforeEach(async () => {
      queued = [];
      forever = false;
      proxy = await startFaultProxy({
        target: subject!.upstream,
        decide: () => (forever ? queued[0] : queued.shift()),
      });
      driver = subject!.driver(proxy.url);
    });

    afterEach(async () => {
      // Closing the proxy first ends any stalled exchange the driver is still waiting on.
      await proxy?.close();
      if (driver) await destroy(driver);
      proxy = undefined;
      driver = undefined;
    });

    after(async () => {
      await subject?.cleanup();
    });

    /** Stalls the next requests the driver sends, one fault each, then lets the rest through. */
    const stallNext = (...kinds: FaultKind[]) => {
      queued = kinds;
    };
    const stallAll = () => {
      queued = ['stall'];
      forever = true;
    };
    const path = () => `/stall/${randomBytes(4).toString('hex')}`;

    it('getContent through a stalled request and one whose body stalls halfway returns the content', async () => {
      const p = path();
      const content = randomBytes(256 * KiB);
      await driver!.putContent(p, content);
      stallNext('stall', 'stall-body');
      const got = await timed(() => driver!.getContent(p));
      assert.equal(got.error, undefined, String(got.error));
      assert.ok(got.value?.equals(content), 'the content read back is the content written');
      assert.ok(got.ms < BOUND_MS, `took ${got.ms} ms`);
      const { faults } = proxy!.counters;
      assert.deepEqual({ stall: faults.stall, 'stall-body': faults['stall-body'] }, { stall: 1, 'stall-body': 1 }, 'both stalls were served');
    });

    it('getContent whose body stalls halfway, the first attempt only, returns the content', async () => {
      const p = path();
      const content = randomBytes(256 * KiB);
      await driver!.putContent(p, content);
      stallNext('stall-body');
      const got = await timed(() => driver!.getContent(p));
      assert.equal(got.error, undefined, String(got.error));
      assert.ok(got.value?.equals(content), 'the content read back is the content written');
      assert.ok(got.ms < BOUND_MS, `took ${got.ms} ms`);
      assert.ok(got.ms >= TIMEOUT_MS, `waited out the silence, not less (${got.ms} ms)`);
      assert.equal(proxy!.counters.faults['stall-body'], 1);
    });

    it('stat through a stalled request returns the size', async () => {
      const p = path();
      await driver!.putContent(p, randomBytes(10 * KiB));
      stallNext('stall');
      const got = await timed(() => driver!.stat(p));
      assert.equal(got.error, undefined, String(got.error));
      assert.equal(got.value?.size, 10 * KiB);
      assert.ok(got.ms < BOUND_MS, `took ${got.ms} ms`);
      assert.equal(proxy!.counters.faults.stall, 1);
    });

    it("a writer's commit through two stalled requests publishes the content", async () => {
      const p = path();
      const content = randomBytes(300 * KiB);
      const writer = await driver!.writer(p, false);
      await writer.write(content);
      stallNext('stall', 'stall');
      const got = await timed(() => writer.commit());
      assert.equal(got.error, undefined, String(got.error));
      assert.ok(got.ms < BOUND_MS, `took ${got.ms} ms`);
      assert.equal(proxy!.counters.faults.stall, 2);
      assert.ok((await driver!.getContent(p)).equals(content), 'the committed content reads back');
    });

    it('when every attempt stalls, getContent fails in bounded time with a transient error naming the driver and the path', async () => {
      const p = path();
      await driver!.putContent(p, randomBytes(KiB));
      stallAll();
      const got = await timed(() => driver!.getContent(p));
      assert.ok(got.ms < BOUND_MS, `took ${got.ms} ms`);
      assert.ok(hasErrorCode(got.error, ErrorCode.StorageDriver), `a StorageDriverError, got ${String(got.error)}`);
      assert.ok(isTransient(got.error), `transient: ${String(got.error)}`);
      const { driverName, path: errorPath } = got.error as { driverName: string; path: string };
      assert.deepEqual({ driverName, path: errorPath }, { driverName: subject!.name, path: p });
      assert.ok(proxy!.counters.faults.stall >= 2, `retried: ${proxy!.counters.faults.stall} stalled attempts`);
      assert.ok(got.ms >= TIMEOUT_MS, `gave up after the timeout, not before (${got.ms} ms)`);
    });

    it('a reader whose stream stalls halfway fails in bounded time with a transient error', async () => {
      const p = path();
      const content = randomBytes(2 * MiB);
      await driver!.putContent(p, content);
      stallNext('stall-body');
      const got = await timed(async () => readAll(await driver!.reader(p, 0)));
      assert.ok(got.ms < BOUND_MS, `took ${got.ms} ms`);
      assert.ok(isTransient(got.error), `transient: ${String(got.error)}`);
      assert.ok(hasErrorCode(got.error, ErrorCode.StorageDriver), `a StorageDriverError, got ${String(got.error)}`);
      const { driverName, path: errorPath } = got.error as { driverName: string; path: string };
      assert.deepEqual({ driverName, path: errorPath }, { driverName: subject!.name, path: p });
      assert.equal(proxy!.counters.faults['stall-body'], 1);
    });
  });
}

describe('drivers: stalled connections are given up on and retried (fault proxy stalls)', () => {
  describeStalls('s3 (Swift s3api), silenceTimeoutMs', async (context) => {
    const options: S3DriverOptions = await swiftS3Bucket(context, 'stall');
    const admin = new S3Driver(options);
    return {
      name: 's3',
      upstream: options.regionEndpoint!,
      driver: (proxyUrl) => new S3Driver({ ...options, regionEndpoint: proxyUrl, silenceTimeoutMs: TIMEOUT_MS, maxAttempts: ATTEMPTS }),
      async cleanup() {
        await admin.delete('/stall').catch(() => undefined);
        await admin.client.send(new DeleteBucketCommand({ Bucket: options.bucket })).catch(() => undefined);
        admin.destroy();
      },
    };
  });

  describeStalls('swift, silenceTimeoutMs', async (context) => {
    const { service, ...options } = await swiftContainer(context, 'stall');
    return {
      name: 'swift',
      upstream: service.endpoint,
      // The storage URL tempauth hands out follows the Host the login went to: the proxy.
      driver: (proxyUrl) => new SwiftDriver({ ...options, authUrl: `${proxyUrl}/auth/v1.0`, silenceTimeoutMs: TIMEOUT_MS, maxAttempts: ATTEMPTS }),
      cleanup: () => dropContainer(options),
    };
  });

  describe('oss (local server), timeoutMs and silenceTimeoutMs', () => {
    const oss = useLocalOss();
    describeStalls('oss', async () => {
      const options = await oss.options({ rootDirectory: `/root-${randomBytes(4).toString('hex')}/` });
      return {
        name: 'oss',
        upstream: `http://127.0.0.1:${oss.server.port}`,
        // The driver refuses an IP address as endpoint (OSS endpoints are host names).
        driver: (proxyUrl) =>
          new OssDriver({
            ...options,
            endpoint: proxyUrl.replace('127.0.0.1', 'localhost'),
            timeoutMs: TIMEOUT_MS,
            silenceTimeoutMs: TIMEOUT_MS,
            maxRetries: ATTEMPTS - 1,
          }),
        cleanup: async () => undefined,
      };
    });
  });

  describe('the silence timeout option', () => {
    const s3Base = { bucket: 'b', region: 'us-east-1', accesskey: 'k', secretkey: 's' };
    const swiftBase = { authurl: 'http://127.0.0.1:1/auth/v1.0', username: 'u', password: 'p', container: 'c' };
    const ossBase = { accesskeyid: 'k', accesskeysecret: 's', region: 'oss-cn-hangzhou', bucket: 'b-1' };
    const invalid = (parameter: string) => (err: unknown) =>
      hasErrorCode(err, ErrorCode.InvalidParameter) && (err as { parameter?: string }).parameter === parameter;

    it('s3, swift and oss read silencetimeout as a Go duration or seconds, default 120 s', async () => {
      const drivers: StorageDriver[] = [
        s3DriverFactory({ ...s3Base, silencetimeout: '1500ms' }),
        swiftDriverFactory({ ...swiftBase, silencetimeout: 90 }),
        ossDriverFactory({ ...ossBase, silencetimeout: '2m30s' }),
        s3DriverFactory(s3Base),
        swiftDriverFactory(swiftBase),
        ossDriverFactory(ossBase),
      ];
      try {
        const timeouts = drivers.map((d) => (d as unknown as { options: { silenceTimeoutMs?: number } }).options.silenceTimeoutMs);
        assert.deepEqual(timeouts, [1500, 90_000, 150_000, 120_000, 120_000, 120_000]);
      } finally {
        for (const d of drivers) await destroy(d);
      }
    });

    it('a bad value is an InvalidParameterError naming the option, or the config parameter through the factory', () => {
      for (const bad of [0, -5, 1.5, Number.NaN]) {
        assert.throws(() => new S3Driver({ bucket: 'b', region: 'r', silenceTimeoutMs: bad }), invalid('silenceTimeoutMs'), `s3 ${bad}`);
        const swift: SwiftDriverOptions = { authUrl: swiftBase.authurl, username: 'u', password: 'p', container: 'c', silenceTimeoutMs: bad };
        assert.throws(() => new SwiftDriver(swift), invalid('silenceTimeoutMs'), `swift ${bad}`);
        const oss = { accessKeyId: 'k', accessKeySecret: 's', region: 'oss-cn-hangzhou', bucket: 'b-1', silenceTimeoutMs: bad };
        assert.throws(() => new OssDriver(oss), invalid('silenceTimeoutMs'), `oss ${bad}`);
      }
      assert.throws(() => s3DriverFactory({ ...s3Base, silencetimeout: 'soon' }), invalid('silencetimeout'));
      assert.throws(() => swiftDriverFactory({ ...swiftBase, silencetimeout: '-1s' }), invalid('silencetimeout'));
      assert.throws(() => ossDriverFactory({ ...ossBase, silencetimeout: '0s' }), invalid('silencetimeout'));
    });
  });
});
