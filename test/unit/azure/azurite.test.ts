/**
 * The azure driver against Azurite, looking behind its back with the plain SDK: the blob names
 * distribution uses, what an unfinished upload is in Azure (uncommitted blocks), appends and
 * cancels over content committed in different ways, batched deletes, SAS redirects, a missing
 * container, typed errors.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ErrorCode, KiB, MiB, hasErrorCode, isPathNotFound, readAll } from '@stowage/core';
import { AzureDriver } from '@stowage/azure';
import { parseBlockId } from '@stowage/azure/internal';
import { pattern, sha256 } from '../../helpers/child-process';
import { blocksOf, listedNames, useAzurite } from './helpers';

/** The size writer(path, true) starts at; the probing writer is cancelled again, so it leaves nothing. */
async function sizeOnResume(driver: AzureDriver, path: string): Promise<number> {
  const writer = await driver.writer(path, true);
  await writer.cancel();
  return writer.size;
}

async function expectCode(promise: Promise<unknown>, code: string, what: string): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.ok(hasErrorCode(err, code as never), `${what}: expected ${code}, got ${String(err)}`);
    return err as Error;
  }
  assert.fail(`${what}: expected ${code}, but it succeeded`);
}

describe('azure: against Azurite', function () {
  this.timeout(120_000);
  const azurite = useAzurite();

  describe("distribution's blob names, both ways", () => {
    it('a path P is the blob <rootdirectory>P, leading slashes dropped', async () => {
      const root = `reg-${randomBytes(3).toString('hex')}`;
      const driver = azurite.driver({ rootDirectory: `/${root}/` });
      const link = '/docker/registry/v2/repositories/app/_layers/sha256/ab12/link';
      const data = '/docker/registry/v2/blobs/sha256/ab/ab12/data';
      await driver.putContent(link, Buffer.from('sha256:ab12'));
      const writer = await driver.writer(data, false);
      await writer.write(pattern('blob', 0, 300 * KiB));
      await writer.commit();
      assert.deepEqual(await listedNames(azurite.container, `${root}/`), [`${root}${data}`, `${root}${link}`].sort());
      const raw = await azurite.container.getBlockBlobClient(`${root}${data}`).downloadToBuffer();
      assert.equal(sha256(raw), sha256(pattern('blob', 0, 300 * KiB)));
    });

    it('reads what distribution writes: append blobs and Put Blob block blobs; putContent replaces an append blob', async () => {
      const root = `dist-${randomBytes(3).toString('hex')}`;
      const driver = azurite.driver({ rootDirectory: root });
      // distribution's azure driver writes every file as an append blob, in 4 MiB appends.
      const appended = azurite.container.getAppendBlobClient(`${root}/docker/registry/v2/blobs/sha256/cd/cd34/data`);
      await appended.create();
      const content = pattern('append', 0, 5 * MiB + 3);
      await appended.appendBlock(content.subarray(0, 4 * MiB), 4 * MiB);
      await appended.appendBlock(content.subarray(4 * MiB), content.length - 4 * MiB);
      await azurite.container.getBlockBlobClient(`${root}/docker/registry/v2/repositories/app/_manifests/tags/v1/current/link`).upload('sha256:cd34', 11);

      const dataPath = '/docker/registry/v2/blobs/sha256/cd/cd34/data';
      assert.equal((await driver.stat(dataPath)).size, content.length);
      assert.equal(sha256(await driver.getContent(dataPath)), sha256(content));
      assert.equal(sha256(await readAll(await driver.reader(dataPath, 4 * MiB))), sha256(content.subarray(4 * MiB)));
      assert.equal((await driver.getContent('/docker/registry/v2/repositories/app/_manifests/tags/v1/current/link')).toString(), 'sha256:cd34');
      assert.deepEqual(await driver.list('/docker/registry/v2'), ['/docker/registry/v2/blobs', '/docker/registry/v2/repositories']);
      const walked: string[] = [];
      await driver.walk('/docker', (info) => {
        walked.push(`${info.path}${info.isDir ? '/' : ''}`);
      });
      assert.equal(walked.filter((p) => !p.endsWith('/')).length, 2);

      // Appending to an append blob is not something blocks can do.
      await expectCode(driver.writer(dataPath, true), ErrorCode.UnsupportedMethod, 'writer(path, true) on an append blob');
      // putContent over an append blob leaves a block blob with the new content.
      await driver.putContent(dataPath, Buffer.from('replaced'));
      assert.equal((await driver.getContent(dataPath)).toString(), 'replaced');
      assert.equal((await appended.getProperties()).blobType, 'BlockBlob');
      await driver.delete('/docker');
    });
  });

  describe('unfinished uploads are uncommitted blocks of the target blob', () => {
    it('after close: only uncommitted blocks with our ids, nothing listed or readable, reported by leftovers', async () => {
      const driver = azurite.driver({ blockSize: 64 * KiB });
      const path = '/uploads/u1/data';
      const writer = await driver.writer(path, false);
      await writer.write(pattern('u1', 0, 200 * KiB));
      await writer.close();
      const blocks = await blocksOf(azurite.container, driver.blobName(path));
      assert.deepEqual(blocks.committed, []);
      const dataBlocks = blocks.uncommitted.filter((id) => parseBlockId(id)?.kind === 'd');
      assert.equal(dataBlocks.length, 4, '3 full blocks of 64 KiB and the 8 KiB tail close() flushed');
      assert.equal(blocks.uncommitted.length, 5, "and the writer's open marker; every block id is one of ours");
      assert.equal(parseBlockId(blocks.uncommitted.find((id) => !dataBlocks.includes(id))!)?.kind, 'o');
      assert.equal(new Set(blocks.uncommitted.map((id) => id.length)).size, 1, 'ids of equal length');
      assert.deepEqual(await listedNames(azurite.container, driver.blobName('/uploads')), []);
      await assert.rejects(
        azurite.container.getBlockBlobClient(driver.blobName(path)).getProperties(),
        (err: { statusCode?: number }) => err.statusCode === 404,
      );
      assert.deepEqual(await driver.leftovers('/uploads'), [`${path} (5 uncommitted blocks)`]);

      // A new instance learns the size from the block list, continues and commits the blocks in order.
      const resumed = await new AzureDriver(driver.options).writer(path, true);
      assert.equal(resumed.size, 200 * KiB);
      await resumed.write(pattern('u1', 200 * KiB, 100 * KiB));
      await resumed.commit();
      assert.equal(sha256(await driver.getContent(path)), sha256(pattern('u1', 0, 300 * KiB)));
      const committed = await blocksOf(azurite.container, driver.blobName(path));
      assert.equal(committed.uncommitted.length, 0);
      assert.deepEqual(
        committed.committed.slice(0, 4),
        dataBlocks.sort((a, b) => parseBlockId(a)!.seq - parseBlockId(b)!.seq),
      );
      assert.deepEqual(await driver.leftovers('/'), []);
      await driver.delete('/uploads');
    });

    it('many small blocks staged several at once commit in order', async () => {
      const driver = azurite.driver({ blockSize: 4 * KiB, uploadConcurrency: 8 });
      const path = '/many/blocks';
      const content = pattern('many', 0, 1 * MiB + 123);
      const writer = await driver.writer(path, false);
      for (let offset = 0; offset < content.length; offset += 10_000) await writer.write(content.subarray(offset, offset + 10_000));
      await writer.commit();
      assert.equal(sha256(await driver.getContent(path)), sha256(content));
      assert.equal((await blocksOf(azurite.container, driver.blobName(path))).committed.length, Math.ceil(content.length / (4 * KiB)));
      await driver.delete(path);
    });

    it('putContent above maxSinglePutSize stages blocks and commits them; below it is one Put Blob', async () => {
      const driver = azurite.driver({ blockSize: 16 * KiB, maxSinglePutSize: 64 * KiB });
      const big = pattern('big-put', 0, 100 * KiB + 1);
      await driver.putContent('/put/big', big);
      assert.equal(sha256(await driver.getContent('/put/big')), sha256(big));
      assert.equal((await blocksOf(azurite.container, driver.blobName('/put/big'))).committed.length, 7);
      await driver.putContent('/put/small', big.subarray(0, 64 * KiB));
      assert.deepEqual((await blocksOf(azurite.container, driver.blobName('/put/small'))).committed, []);
      assert.deepEqual(await driver.leftovers('/'), []);
      await driver.delete('/put');
    });

    it('writer(path, false) closed with no bytes is an empty upload that wins over an older upload and over committed content', async () => {
      const driver = azurite.driver({ blockSize: 16 * KiB });
      const path = '/fresh/file';
      const older = await driver.writer(path, false);
      await older.write(pattern('older', 0, 40 * KiB));
      await older.close();
      const empty = await driver.writer(path, false);
      await empty.close();
      assert.equal(await sizeOnResume(driver, path), 0, 'resumes the empty upload, not the older one');

      await driver.putContent(path, Buffer.from('committed'));
      const rewrite = await driver.writer(path, false);
      await rewrite.close();
      const resumed = await driver.writer(path, true);
      assert.equal(resumed.size, 0, 'resumes the empty rewrite, not the committed content');
      await resumed.cancel();
      assert.equal((await driver.getContent(path)).toString(), 'committed');
      assert.equal(await sizeOnResume(driver, path), 'committed'.length, 'after the cancel, append continues the committed content');
      assert.deepEqual(await driver.leftovers(path), []);
      await driver.delete(path);
    });

    it('append to content committed in blocks commits the old block list plus new blocks, copying nothing', async () => {
      const driver = azurite.driver({ blockSize: 32 * KiB });
      const path = '/append/blocks';
      const first = await driver.writer(path, false);
      await first.write(pattern('app', 0, 100 * KiB));
      await first.commit();
      const before = (await blocksOf(azurite.container, driver.blobName(path))).committed;
      assert.equal(before.length, 4);

      const append = await driver.writer(path, true);
      assert.equal(append.size, 100 * KiB);
      await append.write(pattern('app', 100 * KiB, 50 * KiB));
      await append.close();
      assert.equal((await driver.stat(path)).size, 100 * KiB, 'the committed content is unchanged until commit');
      const resumed = await driver.writer(path, true);
      assert.equal(resumed.size, 150 * KiB);
      await resumed.commit();
      const after = (await blocksOf(azurite.container, driver.blobName(path))).committed;
      assert.deepEqual(after.slice(0, before.length), before, 'the old blocks stay, in place');
      assert.equal(sha256(await driver.getContent(path)), sha256(pattern('app', 0, 150 * KiB)));
      await driver.delete(path);
    });

    it('append to content put in one piece (no block list) continues it, across instances', async () => {
      const driver = azurite.driver({ blockSize: 64 * KiB });
      const path = '/append/put';
      await driver.putContent(path, pattern('put', 0, 150 * KiB));
      assert.deepEqual((await blocksOf(azurite.container, driver.blobName(path))).committed, [], 'Put Blob leaves no block list');
      const append = await driver.writer(path, true);
      assert.equal(append.size, 150 * KiB);
      await append.write(pattern('put', 150 * KiB, 10 * KiB));
      await append.close();
      assert.equal(sha256(await driver.getContent(path)), sha256(pattern('put', 0, 150 * KiB)), 'unchanged until commit');
      const resumed = await new AzureDriver(driver.options).writer(path, true);
      assert.equal(resumed.size, 160 * KiB);
      await resumed.write(pattern('put', 160 * KiB, 5));
      await resumed.commit();
      assert.equal(sha256(await driver.getContent(path)), sha256(pattern('put', 0, 160 * KiB + 5)));
      await driver.delete(path);
    });

    for (const committedBy of ['a block list', 'Put Blob'] as const) {
      it(`cancel of a staged append or rewrite over content committed by ${committedBy} keeps its bytes, headers and metadata and drops every block`, async () => {
        const driver = azurite.driver({ blockSize: 16 * KiB });
        const path = `/cancel/${committedBy === 'Put Blob' ? 'put' : 'blocks'}`;
        const content = pattern('keep', 0, 50 * KiB);
        if (committedBy === 'Put Blob') {
          await driver.putContent(path, content);
        } else {
          const w = await driver.writer(path, false);
          await w.write(content);
          await w.commit();
        }
        const raw = azurite.container.getBlockBlobClient(driver.blobName(path));
        await raw.setHTTPHeaders({ blobContentType: 'application/vnd.oci.image.layer.v1.tar', blobCacheControl: 'max-age=60' });
        await raw.setMetadata({ origin: 'test' });

        for (const append of [true, false]) {
          const writer = await driver.writer(path, append);
          await writer.write(pattern('discard', 0, 40 * KiB));
          await writer.close();
          assert.ok((await blocksOf(azurite.container, driver.blobName(path))).uncommitted.length > 0, 'blocks were staged');
          await (await driver.writer(path, true)).cancel();
          assert.equal(sha256(await driver.getContent(path)), sha256(content), `content after cancelling ${append ? 'an append' : 'a rewrite'}`);
          assert.deepEqual((await blocksOf(azurite.container, driver.blobName(path))).uncommitted, [], 'no uncommitted block left');
          const props = await raw.getProperties();
          assert.equal(props.contentType, 'application/vnd.oci.image.layer.v1.tar');
          assert.equal(props.cacheControl, 'max-age=60');
          assert.deepEqual(props.metadata, { origin: 'test' });
          assert.equal(await sizeOnResume(driver, path), content.length, 'append continues the committed content again');
        }
        assert.deepEqual(await driver.leftovers(path), []);
        await driver.delete(path);
      });
    }

    it("a writer whose blocks another writer's commit discarded: its commit and cancel fail with ERR_UPLOAD_FENCED and change nothing", async () => {
      // One block in flight at a time: write() returns once its full blocks are staged.
      const driver = azurite.driver({ blockSize: 8 * KiB, uploadConcurrency: 1 });
      const path = '/race/file';
      const slow = await driver.writer(path, false);
      await slow.write(pattern('slow', 0, 20 * KiB));
      const fast = await driver.writer(path, false);
      await fast.write(pattern('fast', 0, 20 * KiB));
      await fast.commit(); // Put Block List: Azure drops every other uncommitted block of the blob
      const err = await expectCode(slow.commit(), ErrorCode.UploadFenced, 'commit after the blocks were dropped');
      assert.match(String((err as Error & { cause?: Error }).cause?.message), /discarded/);
      assert.equal(sha256(await driver.getContent(path)), sha256(pattern('fast', 0, 20 * KiB)));
      await expectCode(slow.cancel(), ErrorCode.UploadFenced, 'cancel of the fenced writer');
      assert.equal(sha256(await driver.getContent(path)), sha256(pattern('fast', 0, 20 * KiB)), 'cancel of the loser changes nothing');
      assert.deepEqual(await driver.leftovers(path), []);
      await driver.delete(path);
    });

    it('a cancelled or purged upload stays gone when its path is used again', async () => {
      const driver = azurite.driver({ blockSize: 8 * KiB });
      const path = '/reuse/upload';
      for (const end of ['cancel', 'purge'] as const) {
        const dead = await driver.writer(path, false);
        await dead.write(pattern('dead', 0, 20 * KiB));
        await dead.close();
        if (end === 'cancel') {
          await (await driver.writer(path, true)).cancel();
        } else {
          await new Promise((resolve) => setTimeout(resolve, 20));
          assert.ok((await driver.purgeUploads(new Date())) >= 1);
        }
        await driver.putContent(path, Buffer.from('new content'));
        assert.deepEqual((await blocksOf(azurite.container, driver.blobName(path))).uncommitted, [], `no block of the ${end}led upload came back`);
        assert.equal(await sizeOnResume(driver, path), 'new content'.length, `after ${end}: append continues the new content`);
        await driver.delete(path);
      }
    });

    it("cancel of a superseded writer fails with ERR_UPLOAD_FENCED and leaves the newer writer's upload alone", async () => {
      const driver = azurite.driver({ blockSize: 8 * KiB });
      const path = '/superseded/file';
      const older = await driver.writer(path, false);
      await older.write(pattern('older', 0, 20 * KiB));
      const newer = await driver.writer(path, false);
      await newer.write(pattern('newer', 0, 20 * KiB));
      await expectCode(older.cancel(), ErrorCode.UploadFenced, 'cancel of the superseded writer');
      await newer.commit();
      assert.equal(sha256(await driver.getContent(path)), sha256(pattern('newer', 0, 20 * KiB)));
      assert.deepEqual(await driver.leftovers(path), []);
      await driver.delete(path);
    });

    it('purgeUploads also removes stale staged blocks of other tools (aged by the blob listing)', async () => {
      const driver = azurite.driver();
      const name = driver.blobName('/foreign/upload');
      await azurite.container.getBlockBlobClient(name).stageBlock(Buffer.from('other-tool-1').toString('base64'), Buffer.from('x'), 1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.ok((await driver.purgeUploads(new Date())) >= 1);
      assert.deepEqual(await driver.leftovers('/'), []);
    });
  });

  describe('delete, move, redirect, container', () => {
    it('deletes a directory of more files than one batch holds, and never an unfinished upload', async () => {
      const driver = azurite.driver();
      const files = Array.from({ length: 300 }, (_, i) => `/tree/d${i % 7}/f${i}`);
      for (let i = 0; i < files.length; i += 50) await Promise.all(files.slice(i, i + 50).map((f) => driver.putContent(f, Buffer.from(f))));
      const pending = await driver.writer('/tree/d1/upload', false);
      await pending.write(Buffer.from('staged'));
      await pending.close();
      await expectCode(driver.delete('/tree/d1/upload'), ErrorCode.PathNotFound, 'delete of a path holding only an upload');
      await driver.delete('/tree');
      assert.deepEqual(await listedNames(azurite.container, driver.blobName('/tree')), []);
      const resumed = await driver.writer('/tree/d1/upload', true);
      assert.equal(resumed.size, 'staged'.length, 'the upload survives the delete of its directory');
      await resumed.cancel();
    });

    it('walks a tree of several listing pages in walk order, with out-of-order subtrees, skip and startAfterHint', async () => {
      const driver = azurite.driver();
      const names = (dir: string, n: number) => Array.from({ length: n }, (_, i) => `/w/${dir}/f${String(i).padStart(3, '0')}`);
      // Keys put w/a-b/... before w/a/... ('-' < '/'), walk order the other way round; 250 files
      // take more than the first (100-name) page of a walk's listing.
      const files = [...names('a', 120), '/w/a-b/x', '/w/a.c', ...names('b', 128)];
      for (let i = 0; i < files.length; i += 50) await Promise.all(files.slice(i, i + 50).map((f) => driver.putContent(f, Buffer.from(f))));
      const expected = ['/w/a', ...names('a', 120), '/w/a-b', '/w/a-b/x', '/w/a.c', '/w/b', ...names('b', 128)];
      const walk = async (options: { skip?: string; hint?: string } = {}) => {
        const seen: string[] = [];
        await driver.walk(
          '/w',
          (info) => {
            seen.push(info.path);
            assert.equal(info.size, info.isDir ? 0 : info.path.length, `size of ${info.path}`);
            return info.path === options.skip ? 'skip' : undefined;
          },
          options.hint ? { startAfterHint: options.hint } : {},
        );
        return seen;
      };
      assert.deepEqual(await walk(), expected);
      assert.deepEqual(
        await walk({ skip: '/w/a' }),
        expected.filter((p) => !p.startsWith('/w/a/')),
      );
      assert.deepEqual(await walk({ hint: '/w/a/f110' }), expected.slice(expected.indexOf('/w/a/f110') + 1));
      assert.deepEqual(await walk({ hint: '/w/b/f050' }), expected.slice(expected.indexOf('/w/b/f050') + 1));
      assert.deepEqual((await driver.list('/w')).length, 4);
      await driver.delete('/w');
    });

    it('moves by server-side copy, also with copy_status_poll_max_retry -1 when the copy finishes at once', async () => {
      const driver = azurite.driver({ copyStatusPollMaxRetry: -1 });
      const content = pattern('move', 0, 3 * MiB);
      await driver.putContent('/move/src', content);
      await driver.move('/move/src', '/move/dst/file');
      assert.equal(sha256(await driver.getContent('/move/dst/file')), sha256(content));
      await expectCode(driver.stat('/move/src'), ErrorCode.PathNotFound, 'the moved source');
      await driver.delete('/move');
    });

    it('redirect URLs are read-only SAS URLs that expire', async () => {
      const driver = azurite.driver();
      await driver.putContent('/sas/file', Buffer.from('through SAS'));
      const url = (await driver.redirectURL('/sas/file'))!;
      assert.match(url, /[?&]sp=r(&|$)/);
      assert.match(url, /[?&]se=/);
      assert.equal(await (await fetch(url)).text(), 'through SAS');
      const put = await fetch(url, { method: 'PUT', body: 'overwrite', headers: { 'x-ms-blob-type': 'BlockBlob' } });
      assert.equal(put.status, 403, 'a read-only URL cannot write');
      const shortLived = (await driver.redirectURL('/sas/file', { expiresIn: 1 }))!;
      await new Promise((resolve) => setTimeout(resolve, 2100));
      assert.equal((await fetch(shortLived)).status, 403, 'an expired URL is refused');
      assert.equal((await driver.getContent('/sas/file')).toString(), 'through SAS');
      await driver.delete('/sas');
    });

    it('a missing container reads as empty; the first write creates it', async () => {
      const driver = azurite.driver({ container: `stowage-lazy-${randomBytes(4).toString('hex')}` });
      try {
        assert.deepEqual(await driver.list('/'), []);
        assert.equal((await driver.stat('/')).isDir, true);
        await expectCode(driver.getContent('/a'), ErrorCode.PathNotFound, 'getContent');
        await expectCode(driver.writer('/a', true), ErrorCode.PathNotFound, 'writer(path, true)');
        await driver.walk('/', () => assert.fail('nothing to walk'));
        assert.equal(await driver.purgeUploads(new Date()), 0);
        const writer = await driver.writer('/dir/a', false);
        await writer.write(Buffer.from('created'));
        await writer.close(); // stages a block: creates the container
        await (await driver.writer('/dir/a', true)).commit();
        assert.equal((await driver.getContent('/dir/a')).toString(), 'created');
      } finally {
        await driver.containerClient.deleteIfExists();
      }
    });

    it('a wrong account key is a StorageDriverError naming the driver, the operation and the path', async () => {
      const driver = azurite.driver({ accountKey: Buffer.alloc(64, 1).toString('base64') });
      const err = await expectCode(driver.getContent('/x'), ErrorCode.StorageDriver, 'getContent with a wrong key');
      assert.match(err.message, /^azure: getContent \/x failed/);
      assert.equal((err as Error & { cause?: { statusCode?: number } }).cause?.statusCode, 403);
      assert.ok(!isPathNotFound(err));
    });

    it('a reader stream is the blob as of its opening, even across a rewrite', async () => {
      const driver = azurite.driver();
      const first = pattern('v1', 0, 2 * MiB);
      await driver.putContent('/pinned', first);
      const stream = await driver.reader('/pinned', 0);
      await driver.putContent('/pinned', pattern('v2', 0, 2 * MiB));
      assert.equal(sha256(await readAll(stream)), sha256(first));
      await driver.delete('/pinned');
    });
  });
});
