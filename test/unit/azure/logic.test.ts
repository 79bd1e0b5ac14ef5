/**
 * The azure driver's pure logic, no server: blob names, block ids and what they say about staged
 * uploads, copy polling, error mapping.
 */
import assert from 'node:assert/strict';
import { RestError } from '@azure/storage-blob';
import { ErrorCode, hasErrorCode } from '@stowage/core';
import { BlobLayout, BlockStager, analyseUncommitted, blockId, mapAzureError, newUploadId, parseBlockId, waitForCopy, type CopyProgress, type ListedBlock, type UploadId } from '@stowage/azure';

describe('azure: blob names', () => {
  it("maps paths exactly as distribution's azure driver does (TrimLeft(TrimRight(root, '/') + path, '/'))", () => {
    const cases: Array<[string, string, string]> = [
      ['', '/docker/registry/v2/blobs/sha256/ab/abcd/data', 'docker/registry/v2/blobs/sha256/ab/abcd/data'],
      ['/', '/a/b', 'a/b'],
      ['/registry', '/a/b', 'registry/a/b'],
      ['registry/', '/a/b', 'registry/a/b'],
      ['/deep/root//', '/x', 'deep/root/x'],
      ['//lead', '/x', 'lead/x'],
      ['a//b', '/x', 'a//b/x'],
    ];
    for (const [root, path, name] of cases) {
      const layout = new BlobLayout(root);
      assert.equal(layout.blobName(path), name, `root ${JSON.stringify(root)}, path ${path}`);
      assert.equal(layout.pathOf(name), path, `back from ${name}`);
      assert.ok(layout.blobName(path).startsWith(layout.rootPrefix), `${name} starts with the root prefix ${layout.rootPrefix}`);
    }
  });

  it('lists directories by prefix with a trailing slash, the root included', () => {
    assert.equal(new BlobLayout('').dirPrefix('/'), '');
    assert.equal(new BlobLayout('/reg/').dirPrefix('/'), 'reg/');
    assert.equal(new BlobLayout('/reg/').dirPrefix('/a/b'), 'reg/a/b/');
  });

  it('maps no blob name outside the root or with characters paths never use back to a path', () => {
    const layout = new BlobLayout('reg');
    for (const name of ['other/x', 'reg', 'reg/', 'reg//x', 'reg/a b', 'reg/a~upload', 'reg/./x', 'reg/x/']) {
      assert.equal(layout.pathOf(name), undefined, name);
    }
    assert.equal(layout.childOf('/', 'reg/a/b/'), '/a');
    assert.equal(layout.childOf('/a', 'reg/a/b'), '/a/b');
    assert.equal(layout.childOf('/a', 'reg/a/~x/'), undefined);
    assert.equal(layout.childOf('/a', 'reg/a//'), undefined);
  });
});

function block(upload: UploadId, kind: 'd' | 'm', seq: number, session: number, size: number, stamp = 1_700_000_000_000): ListedBlock {
  return { name: blockId(upload, kind, seq, session, stamp), size };
}

describe('azure: block ids and staged uploads', () => {
  it('block ids are base64 of 40 characters, round-trip, and ignore ids of other tools', () => {
    const upload = newUploadId('n', 1_700_000_000_123);
    const id = blockId(upload, 'd', 41, 3, 1_700_000_000_999);
    assert.equal(Buffer.from(id, 'base64').length, 40);
    assert.deepEqual(parseBlockId(id), { ...upload, kind: 'd', seq: 41, session: 3, stamp: 1_700_000_000_999 });
    for (const other of [Buffer.from('block-000001').toString('base64'), 'not base64 at all!', Buffer.alloc(40, 'x').toString('base64')]) {
      assert.equal(parseBlockId(other), undefined, other);
    }
    // Equal length for every id: Azure requires it of the blocks of one blob.
    const lengths = new Set([blockId(upload, 'm', 0, 0), blockId(newUploadId('a'), 'd', 2_000_000, 1_000_000, 0)].map((i) => i.length));
    assert.equal(lengths.size, 1);
  });

  it('ids of one upload sort by sequence', () => {
    const upload = newUploadId('n');
    const ids = [0, 1, 9, 10, 35, 36, 1295, 1296].map((seq) => Buffer.from(blockId(upload, 'd', seq, 0), 'base64').toString('latin1'));
    assert.deepEqual([...ids].sort(), ids);
  });

  it('the newest upload is the current one; its content is the run of sequences from 0', () => {
    const old = newUploadId('n', 1000);
    const current = newUploadId('n', 2000);
    const staged = analyseUncommitted([
      block(current, 'd', 1, 0, 20),
      block(old, 'd', 0, 0, 99),
      block(current, 'd', 0, 0, 10),
      { name: Buffer.from('foreign-block').toString('base64'), size: 5 },
    ]);
    assert.equal(staged.all.length, 2);
    assert.equal(staged.foreignBlocks, 1);
    assert.deepEqual(staged.current?.upload, current);
    assert.deepEqual(staged.current?.chain, [blockId(current, 'd', 0, 0, 1_700_000_000_000), blockId(current, 'd', 1, 0, 1_700_000_000_000)]);
    assert.equal(staged.current?.chainSize, 30);
    assert.equal(staged.current?.nextSeq, 2);
    assert.equal(staged.current?.nextSession, 1);
  });

  it('a gap ends the content, and blocks a failed session left past it never count', () => {
    const upload = newUploadId('n', 1000);
    // Session 0 staged 0, 1 and 3 (2 failed); session 1 resumed at 2 and staged 2 only.
    const staged = analyseUncommitted([block(upload, 'd', 0, 0, 4), block(upload, 'd', 1, 0, 4), block(upload, 'd', 3, 0, 4), block(upload, 'd', 2, 1, 2)]);
    assert.equal(staged.current?.chain.length, 3, 'seq 3 of session 0 follows seq 2 of session 1: not content');
    assert.equal(staged.current?.chainSize, 10);
    assert.equal(staged.current?.nextSeq, 3);
    assert.equal(staged.current?.nextSession, 2);
    // A later session overwriting a seq wins over the earlier block at that seq.
    const rewritten = analyseUncommitted([block(upload, 'd', 0, 0, 4), block(upload, 'd', 1, 0, 4), block(upload, 'd', 1, 1, 7)]);
    assert.equal(rewritten.current?.chainSize, 11);
  });

  it('a marker makes an empty upload exist; the last write is the latest stamp', () => {
    const upload = newUploadId('n', 1000);
    const staged = analyseUncommitted([block(upload, 'm', 0, 0, 1, 5000), block(upload, 'm', 0, 1, 1, 9000)]);
    assert.equal(staged.current?.chainSize, 0);
    assert.equal(staged.current?.lastWrite, 9000);
    assert.equal(staged.current?.nextSession, 2);
    assert.equal(analyseUncommitted([]).current, undefined);
  });
});

describe('azure: block staging', () => {
  /** A stage function that keeps a copy of every block, finishing in an order of its own. */
  function recorder(delays: (seq: number) => number) {
    const staged = new Map<string, Buffer>();
    let inFlight = 0;
    let maxInFlight = 0;
    const stage = async (id: string, body: Buffer) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delays(Number(id))));
      staged.set(id, Buffer.from(body));
      inFlight--;
    };
    return { staged, stage, maxInFlight: () => maxInFlight };
  }

  it('cuts the stream into blocks in sequence order, a few in flight, whatever order they finish in', async () => {
    const rec = recorder((seq) => (seq % 3) * 3);
    const stager = new BlockStager(rec.stage, (seq) => String(seq), 10, 3);
    const data = Buffer.from(Array.from({ length: 95 }, (_, i) => i));
    for (let offset = 0; offset < data.length; offset += 7) await stager.push(data.subarray(offset, offset + 7));
    assert.equal(stager.buffered.length, 5, 'the tail stays buffered until flush');
    await stager.flush();
    assert.deepEqual(stager.ids, Array.from({ length: 10 }, (_, i) => String(i)));
    assert.deepEqual(Buffer.concat(stager.ids.map((id) => rec.staged.get(id)!)), data, 'block contents, in id order, are the stream (buffers are reused safely)');
    assert.ok(rec.maxInFlight() <= 3 && rec.maxInFlight() >= 2, `in flight at once: ${rec.maxInFlight()}`);
  });

  it('keeps the first failure and rethrows it on the next call', async () => {
    let calls = 0;
    const stager = new BlockStager(async () => {
      if (++calls === 2) throw new Error('stage failed');
    }, String, 4, 4);
    // The failure surfaces on the push that sees it or at the latest on flush, and on every call after.
    await assert.rejects(stager.push(Buffer.alloc(12)).then(() => stager.flush()), /stage failed/);
    await assert.rejects(stager.push(Buffer.alloc(1)), /stage failed/);
    await assert.rejects(stager.flush(), /stage failed/);
  });

  it('refuses the block that would take the upload past the limit, before staging it', async () => {
    const rec = recorder(() => 0);
    const stager = new BlockStager(rec.stage, String, 2, 2, 0, [], 3, (blocks) => new Error(`${blocks} blocks`));
    await stager.push(Buffer.alloc(6));
    await stager.settle();
    assert.equal(rec.staged.size, 3);
    await stager.push(Buffer.alloc(1)); // buffered: fine
    await assert.rejects(stager.flush(), /4 blocks/);
    assert.equal(rec.staged.size, 3);
  });
});

describe('azure: copy polling', () => {
  const settings = { maxRetry: 3, delayMs: 10 };
  const script = (states: CopyProgress[]) => {
    let i = 0;
    return async () => states[Math.min(i++, states.length - 1)]!;
  };

  it('waits N x delay before poll N and succeeds when the copy does', async () => {
    const slept: number[] = [];
    const outcome = await waitForCopy({ status: 'pending', copyId: 'c' }, script([{ status: 'pending', copyId: 'c' }, { status: 'success', copyId: 'c' }]), settings, async (ms) => {
      slept.push(ms);
    });
    assert.deepEqual(outcome, { kind: 'success' });
    assert.deepEqual(slept, [10, 20]);
  });

  it('reports a copy still pending after the last poll, and with -1 one that did not finish at once', async () => {
    const pending = script([{ status: 'pending', copyId: 'c' }]);
    assert.deepEqual(await waitForCopy({ status: 'pending', copyId: 'c' }, pending, settings, async () => undefined), { kind: 'unfinished', polls: 3, copyId: 'c' });
    assert.deepEqual(await waitForCopy({ status: 'pending', copyId: 'c' }, pending, { maxRetry: -1, delayMs: 10 }, async () => assert.fail('no sleep with -1')), {
      kind: 'unfinished',
      polls: 0,
      copyId: 'c',
    });
    assert.deepEqual(await waitForCopy({ status: 'success' }, pending, { maxRetry: -1, delayMs: 10 }, async () => undefined), { kind: 'success' });
  });

  it('reports failed and aborted copies, and a copy replaced by another', async () => {
    const failed = await waitForCopy({ status: 'pending', copyId: 'c' }, script([{ status: 'failed', copyId: 'c', description: '500 InternalError' }]), settings, async () => undefined);
    assert.deepEqual(failed, { kind: 'failed', reason: 'copy failed: 500 InternalError' });
    const replaced = await waitForCopy({ status: 'pending', copyId: 'c' }, script([{ status: 'success', copyId: 'd' }]), settings, async () => undefined);
    assert.equal(replaced.kind, 'failed');
  });
});

describe('azure: error mapping', () => {
  const rest = (statusCode: number, code: string | undefined) => new RestError(`${statusCode} ${code ?? ''}`, { statusCode, code });

  it('BlobNotFound and a bare 404 (HEAD) are PathNotFoundError naming the driver and the path', () => {
    for (const err of [rest(404, 'BlobNotFound'), rest(404, undefined), rest(404, 'ResourceNotFound')]) {
      const mapped = mapAzureError(err, { operation: 'getContent', path: '/a/b' });
      assert.ok(hasErrorCode(mapped, ErrorCode.PathNotFound), String(err.message));
      assert.equal((mapped as { path?: string }).path, '/a/b');
      assert.equal((mapped as { driverName?: string }).driverName, 'azure');
      assert.equal((mapped as Error).cause, err);
    }
  });

  it('a missing container is PathNotFoundError for reads only; other errors are left to the default', () => {
    assert.ok(hasErrorCode(mapAzureError(rest(404, 'ContainerNotFound'), { operation: 'stat', path: '/x' }), ErrorCode.PathNotFound));
    assert.equal(mapAzureError(rest(404, 'ContainerNotFound'), { operation: 'putContent', path: '/x' }), undefined);
    assert.equal(mapAzureError(rest(403, 'AuthenticationFailed'), { operation: 'stat', path: '/x' }), undefined);
    assert.equal(mapAzureError(rest(409, 'InvalidBlobType'), { operation: 'writer', path: '/x' }), undefined);
  });
});
