/**
 * Opening a writer reads the blob's state first (Get Block List; for writer(path, true) over
 * content put in one piece also Get Blob Properties and a download of that content, copied in as
 * the upload's first blocks). Those reads are idempotent, so a failed one is asked again: a cut or
 * lost answer, or a fault on every one of the SDK's own tries, must not fail the open, and a
 * retried open still leaves one open marker. Against Azurite through the fault proxy, with the
 * faults forced on the open's requests only.
 */
import assert from 'node:assert/strict';
import { ErrorCode, KiB, hasErrorCode } from '@stowage/core';
import type { AzureDriver } from '@stowage/azure';
import { parseBlockId } from '@stowage/azure/internal';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../../services/fault-proxy';
import { pattern, sha256 } from '../../helpers/child-process';
import { blocksOf, useAzurite } from './helpers';

/** Requests the open makes that these tests fault. */
type OpenRead = 'block list' | 'properties' | 'download';

function isRead(read: OpenRead, method: string, url: string, path: string): boolean {
  if (!url.includes(path)) return false;
  if (read === 'block list') return method === 'GET' && url.includes('comp=blocklist');
  if (read === 'properties') return method === 'HEAD';
  return method === 'GET' && !url.includes('comp=');
}

/** Whether a request stages an open marker (Put Block whose id has kind `o`). */
function isMarkerStage(method: string, url: string): boolean {
  if (method !== 'PUT' || !url.includes('comp=block&')) return false;
  const id = new URL(url, 'http://proxy').searchParams.get('blockid');
  return id !== null && parseBlockId(id)?.kind === 'o';
}

/** `kind` for the first `times` requests that `matches`, no fault for any other. */
function first(
  times: number,
  kind: FaultKind,
  matches: (method: string, url: string) => boolean,
): (request: { method: string; url: string }) => FaultKind | undefined {
  let left = times;
  return ({ method, url }) => {
    if (left === 0 || !matches(method, url)) return undefined;
    left--;
    return kind;
  };
}

/** The SDK's tries per request (the driver's default maxTries). */
const SDK_TRIES = 4;

describe('azure: writer open retries its reads (fault proxy)', function () {
  this.timeout(60_000);
  const azurite = useAzurite();
  let proxy: FaultProxy | undefined;

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  async function proxied(decide: (request: { method: string; url: string }) => FaultKind | undefined): Promise<{ driver: AzureDriver; direct: AzureDriver }> {
    const { instance } = azurite;
    proxy = await startFaultProxy({ target: `http://127.0.0.1:${instance.port}`, decide });
    const driver = azurite.driver({ serviceUrl: `${proxy.url}${new URL(instance.serviceUrl).pathname}`, blockSize: 16 * KiB });
    return { driver, direct: azurite.driver({ rootDirectory: driver.options.rootDirectory, blockSize: 16 * KiB }) };
  }

  function faultCount(): number {
    return Object.values(proxy!.counters.faults).reduce((sum, n) => sum + n, 0);
  }

  /** The open markers among the blob's uncommitted blocks. */
  async function markersOf(driver: AzureDriver, path: string): Promise<number> {
    const { uncommitted } = await blocksOf(azurite.container, driver.blobName(path));
    return uncommitted.filter((id) => parseBlockId(id)?.kind === 'o').length;
  }

  const faults: { kind: FaultKind; times: number; what: string }[] = [
    { kind: 'truncate', times: 1, what: 'an answer cut mid-body' },
    { kind: 'reset-after', times: 1, what: 'a lost answer' },
    { kind: 'status-503', times: SDK_TRIES, what: "503 on every one of the SDK's tries" },
  ];

  for (const { kind, times, what } of faults) {
    for (const read of ['block list', 'properties', 'download'] as const) {
      it(`writer(path, true) over content put in one piece: ${what} on its ${read} read is retried`, async () => {
        const path = `/open/append-${read.replace(' ', '-')}-${kind}`;
        const old = pattern(`old-${read}-${kind}`, 0, 40 * KiB);
        const more = pattern(`more-${read}-${kind}`, 0, 20 * KiB);
        const { driver, direct } = await proxied(first(times, kind, (method, url) => isRead(read, method, url, path)));
        await direct.putContent(path, old);
        const writer = await driver.writer(path, true);
        assert.ok(faultCount() >= 1, `the ${read} read was faulted (${proxy!.counters.recent.join('; ')})`);
        assert.equal(writer.size, old.length);
        assert.equal(await markersOf(driver, path), 1, 'one open marker');
        await writer.write(more);
        await writer.commit();
        assert.equal(sha256(await direct.getContent(path)), sha256(Buffer.concat([old, more])));
      });
    }

    it(`writer(path, false): ${what} on its block list read is retried`, async () => {
      const path = `/open/new-${kind}`;
      const content = pattern(`new-${kind}`, 0, 20 * KiB);
      const { driver, direct } = await proxied(first(times, kind, (method, url) => isRead('block list', method, url, path)));
      const writer = await driver.writer(path, false);
      assert.ok(faultCount() >= 1, 'the block list read was faulted');
      assert.equal(await markersOf(driver, path), 1, 'one open marker');
      await writer.write(content);
      await writer.commit();
      assert.equal(sha256(await direct.getContent(path)), sha256(content));
    });
  }

  it('a cancel over content put in one piece: its copy of the content, cut mid-body, is resumed and the content stays', async () => {
    const path = '/open/cancel-copy';
    const old = pattern('cancel-old', 0, 40 * KiB);
    const { driver, direct } = await proxied(first(1, 'truncate', (method, url) => isRead('download', method, url, path)));
    await direct.putContent(path, old);
    const writer = await driver.writer(path, false);
    await writer.write(pattern('cancel-new', 0, 20 * KiB));
    await writer.cancel();
    assert.equal(proxy!.counters.faults.truncate, 1, "the cancel's download was cut");
    assert.equal(sha256(await direct.getContent(path)), sha256(old));
    assert.deepEqual(await direct.leftovers('/open/cancel-copy'), []);
  });

  it('an abort ends the retries of an open at once', async () => {
    const path = '/open/aborted';
    const { driver } = await proxied(first(Number.POSITIVE_INFINITY, 'status-503', (method, url) => isRead('block list', method, url, path)));
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 300);
    await assert.rejects(driver.writer(path, false, { signal: controller.signal }), (e: unknown) => hasErrorCode(e, ErrorCode.Aborted));
    assert.ok(Date.now() - started < 2000, `ended ${Date.now() - started} ms after the start`);
  });

  it('an open marker whose stage answer is lost is staged again under the same id: one marker, and the writer is live', async () => {
    const path = '/open/marker-lost';
    const old = pattern('marker-old', 0, 40 * KiB);
    const more = pattern('marker-more', 0, 8 * KiB);
    const { driver, direct } = await proxied(first(1, 'reset-after', isMarkerStage));
    await direct.putContent(path, old);
    const writer = await driver.writer(path, true);
    assert.equal(proxy!.counters.faults['reset-after'], 1, 'the marker stage answer was lost');
    assert.equal(await markersOf(driver, path), 1, 'one open marker');
    await writer.write(more);
    await writer.commit();
    assert.equal(sha256(await direct.getContent(path)), sha256(Buffer.concat([old, more])));
  });
});
