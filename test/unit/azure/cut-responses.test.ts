/**
 * Answers lost on the way back, against Azurite through the fault proxy with the fault forced on
 * one request: a commit whose answer is lost, a download cut mid-body, and a batch delete whose
 * answer is cut. Each took effect (or may have) on the server; the driver must tell that apart
 * from a lost race or a caller's abort.
 */
import assert from 'node:assert/strict';
import { ErrorCode, KiB, hasErrorCode, isTransient } from '@stowage/core';
import type { AzureDriver } from '@stowage/azure';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../../services/fault-proxy';
import { pattern, sha256 } from '../../helpers/child-process';
import { useAzurite } from './helpers';
import { RetryMiddleware } from '@stowage/middleware';
import { readAll } from '@stowage/core';

/** A fault for the first request that `matches`, none for any other. */
function once(kind: FaultKind, matches: (method: string, url: string) => boolean): (request: { method: string; url: string }) => FaultKind | undefined {
  let fired = false;
  return ({ method, url }) => {
    if (fired || !matches(method, url)) return undefined;
    fired = true;
    return kind;
  };
}

describe('azure: answers cut on the way back (fault proxy)', function () {
  const azurite = useAzurite();
  let proxy: FaultProxy | undefined;

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  /** A driver over this file's container whose requests go through a proxy deciding with `decide`. */
  async function proxied(decide: (request: { method: string; url: string }) => FaultKind | undefined, blockSize = 16 * KiB): Promise<AzureDriver> {
    const { instance } = azurite;
    proxy = await startFaultProxy({ target: `http://127.0.0.1:${instance.port}`, decide });
    return azurite.driver({ serviceUrl: `${proxy.url}${new URL(instance.serviceUrl).pathname}`, blockSize });
  }

  /** A driver over the same root that talks to Azurite directly. */
  function directOf(driver: AzureDriver): AzureDriver {
    return azurite.driver({ rootDirectory: driver.options.rootDirectory });
  }

  it('a commit whose answer is lost, retried by the SDK into its own commit, succeeds and publishes the content', async () => {
    const driver = await proxied(once('reset-after', (method, url) => method === 'PUT' && url.includes('comp=blocklist')));
    const path = '/cut/commit';
    const content = pattern('commit', 0, 40 * KiB);
    const writer = await driver.writer(path, false);
    await writer.write(content);
    await writer.commit();
    assert.equal(proxy!.counters.faults['reset-after'], 1, 'the Put Block List answer was lost');
    const direct = directOf(driver);
    assert.equal(sha256(await direct.getContent(path)), sha256(content));
  });

  it('a commit whose answer is lost over content already there succeeds too', async () => {
    const driver = await proxied(once('reset-after', (method, url) => method === 'PUT' && url.includes('comp=blocklist')));
    const path = '/cut/commit-over';
    await directOf(driver).putContent(path, pattern('old', 0, 8 * KiB));
    const content = pattern('new', 0, 40 * KiB);
    const writer = await driver.writer(path, false);
    await writer.write(content);
    await writer.commit();
    assert.equal(proxy!.counters.faults['reset-after'], 1);
    assert.equal(sha256(await directOf(driver).getContent(path)), sha256(content));
  });

  // Over an empty blob the first commit (If-None-Match: *) is refused, and the second (If-Match) takes effect.
  for (const [what, old, lostCommit] of [
    ['an empty commit', undefined, 1],
    ['an empty commit over an empty blob', Buffer.alloc(0), 2],
    ['an append of nothing', pattern('append-nothing', 0, 40 * KiB), 1],
  ] as const) {
    it(`${what} whose answer is lost succeeds: the commit carries a nonce its retry knows it by`, async () => {
      const path = `/cut/adds-nothing-${what.replace(/ /g, '-')}`;
      let commits = 0;
      const driver = await proxied(({ method, url }) =>
        method === 'PUT' && url.includes('comp=blocklist') && url.includes(path) && ++commits === lostCommit ? 'reset-after' : undefined,
      );
      const direct = directOf(driver);
      if (old !== undefined) {
        // Committed by a writer, so that an append continues its block list and adds no block.
        const first = await direct.writer(path, false);
        await first.write(old);
        await first.commit();
      }
      const writer = await driver.writer(path, old !== undefined);
      await writer.commit();
      assert.equal(proxy!.counters.faults['reset-after'], 1, 'the Put Block List answer was lost');
      assert.equal(sha256(await direct.getContent(path)), sha256(old ?? Buffer.alloc(0)));
      assert.deepEqual(await direct.leftovers(path), []);
    });
  }

  it('a download cut mid-body, with no signal fired, is a transient StorageDriverError, not an abort', async () => {
    const path = '/cut/read';
    const content = pattern('read', 0, 256 * KiB);
    const driver = await proxied(once('truncate', (method, url) => method === 'GET' && url.includes('/cut/read') && !url.includes('comp=')));
    await directOf(driver).putContent(path, content);
    const err = await driver.getContent(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(proxy!.counters.faults.truncate, 1, 'the download was cut');
    assert.ok(err, 'the cut download fails');
    assert.ok(hasErrorCode(err, ErrorCode.StorageDriver), `a StorageDriverError, got ${String(err)}`);
    assert.ok(isTransient(err), 'marked transient');
  });

  for (const size of [96, 288, 70 * KiB]) {
    it(`a reader stream of ${size} B cut mid-body fails, never ends short; through the retry middleware it reads back whole`, async () => {
      const path = `/cut/stream-${size}`;
      const content = pattern('stream', 0, size);
      const cutFirstRead = () => once('truncate', (method, url) => method === 'GET' && url.includes(path) && !url.includes('comp='));
      const driver = await proxied(cutFirstRead());
      await directOf(driver).putContent(path, content);
      const bare = await readAll(await driver.reader(path, 0)).then(
        (got) => `ended after ${got.length} of ${size} bytes`,
        (e: unknown) => e,
      );
      assert.equal(proxy!.counters.faults.truncate, 1, 'the stream was cut');
      assert.ok(isTransient(bare), `the cut stream fails transiently: ${String(bare)}`);
      await proxy!.close();
      proxy = await startFaultProxy({ target: `http://127.0.0.1:${azurite.instance.port}`, decide: cutFirstRead() });
      const sameRoot = azurite.driver({
        serviceUrl: `${proxy.url}${new URL(azurite.instance.serviceUrl).pathname}`,
        rootDirectory: driver.options.rootDirectory,
      });
      const retried = new RetryMiddleware(sameRoot, { baseDelayMs: 1, maxDelayMs: 2 });
      const got = await readAll(await retried.reader(path, 0));
      assert.equal(proxy.counters.faults.truncate, 1, 'the stream was cut');
      assert.equal(sha256(got), sha256(content), `read back whole (${got.length} of ${size} bytes)`);
    });
  }

  it('a reader stream through the retry middleware cut before the caller reads it is no uncaught error; read later, it reads back whole', async () => {
    const path = '/cut/stream-unread';
    const content = pattern('unread', 0, 96);
    const driver = await proxied(once('truncate', (method, url) => method === 'GET' && url.includes(path) && !url.includes('comp=')));
    await directOf(driver).putContent(path, content);
    const retried = new RetryMiddleware(driver, { baseDelayMs: 1, maxDelayMs: 2 });
    const stream = await retried.reader(path, 0);
    // The caller awaits something else first (the conformance suite's stat next to the reader).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(proxy!.counters.faults.truncate, 1, 'the stream was cut before it was read');
    const got = await readAll(stream);
    assert.equal(sha256(got), sha256(content), `read back whole (${got.length} of ${content.length} bytes)`);
  });

  it('a download whose own signal fired stays OperationAbortedError', async () => {
    const path = '/cut/read-aborted';
    const driver = await proxied(() => undefined);
    await directOf(driver).putContent(path, pattern('abort', 0, 64 * KiB));
    const controller = new AbortController();
    const reader = await driver.reader(path, 0, { signal: controller.signal });
    controller.abort();
    const err = await (async () => {
      for await (const chunk of reader) void chunk;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(hasErrorCode(err, ErrorCode.Aborted), `OperationAbortedError, got ${String(err)}`);
  });

  it("a cancel whose emptying commit's answer is lost leaves nothing behind (Azurite's block clearing)", async () => {
    const driver = await proxied(once('reset-after', (method, url) => method === 'PUT' && url.includes('comp=blocklist')));
    const path = '/cut/cancel';
    const writer = await driver.writer(path, false);
    await writer.cancel();
    const direct = directOf(driver);
    await assert.rejects(direct.stat(path), (e: unknown) => hasErrorCode(e, ErrorCode.PathNotFound));
    await assert.rejects(direct.writer(path, true), (e: unknown) => hasErrorCode(e, ErrorCode.PathNotFound));
  });

  it("a cancel whose Delete Blob answer is lost leaves no block behind: a new upload of the path is not fenced by the old one's markers", async () => {
    const path = '/cut/cancel-delete';
    const driver = await proxied(once('reset-after', (method, url) => method === 'DELETE' && url.includes(path)));
    const closed = await driver.writer(path, false);
    await closed.write(pattern('closed', 0, KiB));
    await closed.close();
    await (await driver.writer(path, true)).cancel();
    assert.equal(proxy!.counters.faults['reset-after'], 1, "the cancel's Delete Blob reached Azurite and its answer was lost");
    const direct = directOf(driver);
    await assert.rejects(direct.writer(path, true), (e: unknown) => hasErrorCode(e, ErrorCode.PathNotFound));
    const content = pattern('next', 0, KiB);
    const next = await driver.writer(path, false);
    await next.write(content);
    await next.commit();
    assert.equal(sha256(await direct.getContent(path)), sha256(content));
  });

  it('a file delete whose answer is lost, answered 404 or 412 on its retry, succeeds: the file is gone', async () => {
    const driver = await proxied(once('reset-after', (method, url) => method === 'DELETE' && url.includes('/cut/lost-delete')));
    const direct = directOf(driver);
    await direct.putContent('/cut/lost-delete', pattern('lost-delete', 0, KiB));
    await driver.delete('/cut/lost-delete');
    assert.equal(proxy!.counters.faults['reset-after'], 1, 'the delete reached Azurite and its answer was lost');
    await assert.rejects(direct.stat('/cut/lost-delete'), (e: unknown) => hasErrorCode(e, ErrorCode.PathNotFound));
  });

  it('a batch delete whose answer is cut is sent again and the tree is gone', async () => {
    const driver = await proxied(once('truncate', (method, url) => method === 'POST' && url.includes('comp=batch')));
    const direct = directOf(driver);
    for (let i = 0; i < 5; i++) await direct.putContent(`/cut/tree/f${i}`, pattern(`f${i}`, 0, KiB));
    await driver.delete('/cut/tree');
    assert.equal(proxy!.counters.faults.truncate + proxy!.counters.faults['reset-after'], 1, 'the batch answer was cut');
    await assert.rejects(direct.stat('/cut/tree/f0'), (e: unknown) => hasErrorCode(e, ErrorCode.PathNotFound));
  });
});
