/**
 * The conformance suite through the fault proxy (test/services/fault-proxy): the driver under test
 * talks to its local server through the proxy, which faults a seeded share of the requests; a
 * journal (fault-journal.ts) reads every committed object back through a driver that talks to the
 * server directly. A summary line gives the figures: duration, requests, faults by kind, read-backs.
 *
 * Seed and rate: STOWAGE_FAULT_SEED (default random, printed) and STOWAGE_FAULT_RATE (default 0.05;
 * 0 gives the clean run through the same proxy, the baseline of the bounded-recovery figure).
 */
import assert from 'node:assert/strict';
import { hasLeftovers, type StorageDriver } from '@stowage/core';
import { describeConformance, type SizeProfileName } from '@stowage/conformance';
import { faultSettingsFromEnv, startFaultProxy, type FaultKind, type FaultProxy } from '../services/fault-proxy';
import { FaultJournal } from './fault-journal';
import { RetryMiddleware } from '@stowage/middleware';

/** Signed URLs (S3, Azure SAS, Swift TempURL, OSS V1/V4) are fetched by the test itself, not by a driver: never faulted. */
const SIGNED_URL = /[?&](X-Amz-Signature|sig|temp_url_sig|Signature|x-oss-signature)=/i;

/** A driver's local server, ready for a run. @public (the shape a setup returns) */
export interface FaultTarget {
  /** Where the proxy forwards to: `http://127.0.0.1:PORT`. */
  upstream: string;
  /** A new driver instance whose endpoint is `endpoint` (the proxy's URL), as a new process would build it. */
  driver(endpoint: string): StorageDriver;
  /** A driver over the same storage that talks to the server directly. */
  direct: StorageDriver;
  /** Drops the bucket or container, stops what was started. */
  cleanup(): Promise<void>;
}

export interface FaultRunOptions {
  /** Starts the server and prepares a fresh bucket; may skip the suite (requireService). */
  setup(context: Mocha.Context): Promise<FaultTarget>;
  /**
   * Wraps each driver under test, inside the journal: the place for retry middleware on calls the
   * driver does not retry itself. Default: @stowage/middleware's retry with its defaults, counting its retries.
   */
  wrap?: (driver: StorageDriver) => StorageDriver;
  /** The fault kinds to spread the faults over; default all of them. */
  kinds?: readonly FaultKind[];
  modTimeResolutionMs?: number;
  /** Default 'quick' (npm test); STOWAGE_CONFORMANCE_PROFILE=standard overrides it. */
  profile?: SizeProfileName;
}

function destroyDriver(driver: StorageDriver): Promise<void> {
  const destroy = (driver as { destroy?: () => unknown }).destroy;
  return Promise.resolve(typeof destroy === 'function' ? destroy.call(driver) : undefined).then(() => undefined);
}

export function describeFaultConformance(name: string, options: FaultRunOptions): void {
  const { seed, rate } = faultSettingsFromEnv();
  const middlewareRetries: Record<string, number> = {};
  const wrap =
    options.wrap ??
    ((driver: StorageDriver) =>
      new RetryMiddleware(driver, { onRetry: ({ operation }) => void (middlewareRetries[operation] = (middlewareRetries[operation] ?? 0) + 1) }));

  describe(`${name} through the fault proxy (rate ${rate}, seed ${seed})`, function () {
    let target: FaultTarget | undefined;
    let proxy: FaultProxy | undefined;
    let journal: FaultJournal | undefined;
    let started = 0;
    const drivers: StorageDriver[] = [];

    before(async function () {
      target = await options.setup(this);
      proxy = await startFaultProxy({
        target: target.upstream,
        seed,
        rate,
        ...(options.kinds ? { kinds: options.kinds } : {}),
        exempt: ({ url }) => SIGNED_URL.test(url),
      });
      journal = new FaultJournal(target.direct);
      console.log(
        `      fault proxy ${proxy.url} -> ${target.upstream}: rate ${rate}, seed ${seed} (replay: STOWAGE_FAULT_SEED=${seed} STOWAGE_FAULT_RATE=${rate})`,
      );
    });

    after(async () => {
      await Promise.all(drivers.map(destroyDriver));
      await proxy?.close();
      await target?.cleanup();
    });

    const newDriver = (): StorageDriver => {
      const driver = target!.driver(proxy!.url);
      drivers.push(driver);
      return journal!.wrap(wrap(driver));
    };

    describeConformance(
      name,
      () => {
        started = Date.now();
        return newDriver();
      },
      {
        profile: options.profile ?? 'quick',
        newInstance: () => newDriver(),
        // Through the direct driver: the leftover check judges the driver's state, not the proxy's luck.
        leftovers: (_driver, prefix) => {
          const direct = target!.direct;
          return hasLeftovers(direct) ? direct.leftovers(prefix) : Promise.resolve([]);
        },
        modTimeResolutionMs: options.modTimeResolutionMs ?? 1000,
        faultsInjected: rate > 0,
      },
    );

    describe(`${name}: read-back after the faulted run`, () => {
      it('every committed object reads back with its sha256: zero corrupted, torn or lost', async function () {
        if (!journal || !proxy) this.skip();
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        proxy.setEnabled(false);
        const finalCount = journal.presentCount;
        await journal.readBackAll();
        const c = journal.counts;
        const faults = Object.entries(proxy.counters.faults)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ');
        console.log(
          `      ${name}: ${seconds} s; ${proxy.counters.requests} requests, ${proxy.counters.forwarded} forwarded, ` +
            `${proxy.totalFaults()} faults (${faults}); read-backs ${c.checked} (${finalCount} at the end), ` +
            `corrupted ${c.corrupted}, torn ${c.torn}, lost ${c.lost}, unverified resumes ${c.unverified}; ` +
            `retries by the retry middleware: ${JSON.stringify(middlewareRetries)}`,
        );
        assert.deepEqual({ corrupted: c.corrupted, torn: c.torn, lost: c.lost }, { corrupted: 0, torn: 0, lost: 0 }, c.problems.join('\n'));
      });
    });
  });
}
