/**
 * The azure driver's pure logic, no server: blob names, block ids and what they say about staged
 * uploads, copy polling, error mapping.
 */
import assert from 'node:assert/strict';
import { RestError } from '@azure/storage-blob';
import { ErrorCode, hasErrorCode } from '@stowage/core';
import {
  BlobLayout,
  BlockStager,
  analyseUncommitted,
  dataBlockId,
  liveness,
  mapAzureError,
  newSession,
  newUploadId,
  openMarkerId,
  parseBlockId,
  waitForCopy,
  type CopyProgress,
  type ListedBlock,
  type SessionId,
  type UploadId,
} from '@stowage/azure/internal';

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

const STAMP = 1_700_000_000_000;

/** A data block of `session` as Get Block List lists it. */
function data(upload: UploadId, seq: number, session: SessionId, size: number, stamp = STAMP): ListedBlock {
  return { name: dataBlockId(upload, seq, session, stamp), size };
}

/** The open marker of `session`, starting at `start` after resuming `pred`. */
function opened(upload: UploadId, start: number, session: SessionId, pred?: SessionId, stamp = STAMP): ListedBlock {
  return { name: openMarkerId(upload, start, session, pred, stamp), size: 1 };
}

describe('azure: block ids and staged uploads', () => {
  it('block ids are base64 of 40 characters, round-trip, and ignore ids of other tools', () => {
    const upload = newUploadId('n');
    const session = { gen: 3, nonce: 'abcde' };
    const id = dataBlockId(upload, 41, session, 1_700_000_000_999);
    assert.equal(Buffer.from(id, 'base64').length, 40);
    assert.deepEqual(parseBlockId(id), { upload, kind: 'd', seq: 41, session, stamp: 1_700_000_000_999 });
    const marker = openMarkerId(upload, 7, { gen: 4, nonce: 'zzzzz' }, session, 5);
    assert.deepEqual(parseBlockId(marker), { upload, kind: 'o', seq: 7, session: { gen: 4, nonce: 'zzzzz' }, pred: 'abcde', stamp: 5 });
    assert.throws(() => openMarkerId(upload, 7, { gen: 5, nonce: 'zzzzz' }, session), RangeError, 'a session resumes one of the gen before');
    for (const other of [Buffer.from('block-000001').toString('base64'), 'not base64 at all!', Buffer.alloc(40, 'x').toString('base64')]) {
      assert.equal(parseBlockId(other), undefined, other);
    }
    // Equal length for every id: Azure requires it of the blocks of one blob.
    const lengths = new Set([openMarkerId(upload, 0, newSession(1)), dataBlockId(newUploadId('a'), 2_000_000, newSession(1_000_000), 0)].map((i) => i.length));
    assert.equal(lengths.size, 1);
  });

  it('the upload of the newest session is the current one, whatever the clocks say; its content is the run of sequences from where each session started', () => {
    const old = newUploadId('n');
    const current = newUploadId('n');
    const first = { gen: 1, nonce: 'aaaaa' };
    const newer = { gen: 2, nonce: '00001' };
    const staged = analyseUncommitted([
      data(current, 1, newer, 20, STAMP - 5000),
      opened(old, 0, first, undefined, STAMP + 5000),
      data(old, 0, first, 99, STAMP + 5000),
      data(current, 0, newer, 10, STAMP - 5000),
      opened(current, 0, newer, undefined, STAMP - 5000),
      { name: Buffer.from('foreign-block').toString('base64'), size: 5 },
    ]);
    assert.equal(staged.all.length, 2);
    assert.equal(staged.foreignBlocks, 1);
    assert.equal(staged.maxGen, 2);
    assert.deepEqual(staged.current?.upload, current);
    assert.deepEqual(staged.current?.head, newer);
    assert.deepEqual(staged.current?.chain, [dataBlockId(current, 0, newer, STAMP - 5000), dataBlockId(current, 1, newer, STAMP - 5000)]);
    assert.equal(staged.current?.chainSize, 30);
    assert.equal(staged.current?.nextSeq, 2);
  });

  it('a gap ends the content, and blocks a fenced or failed session staged after the next one started never count', () => {
    const upload = newUploadId('n');
    const s1 = { gen: 1, nonce: 'aaaaa' };
    const s2 = { gen: 2, nonce: 'bbbbb' };
    // s1 staged 0, 1 and 3 (2 was in flight when s2 opened and landed later); s2 resumed at 2 and staged 2 only.
    const blocks = [
      opened(upload, 0, s1),
      data(upload, 0, s1, 4),
      data(upload, 1, s1, 4),
      data(upload, 3, s1, 4),
      opened(upload, 2, s2, s1),
      data(upload, 2, s2, 2),
      data(upload, 2, s1, 4),
    ];
    const staged = analyseUncommitted(blocks);
    assert.deepEqual(staged.current?.chain, [dataBlockId(upload, 0, s1, STAMP), dataBlockId(upload, 1, s1, STAMP), dataBlockId(upload, 2, s2, STAMP)]);
    assert.equal(staged.current?.chainSize, 10);
    // s2 opened and staged nothing; the fenced s1 went on staging 2 and 3: its strays are not content.
    const idle = analyseUncommitted([
      opened(upload, 0, s1),
      data(upload, 0, s1, 4),
      data(upload, 1, s1, 4),
      opened(upload, 2, s2, s1),
      data(upload, 2, s1, 4),
      data(upload, 3, s1, 4),
    ]);
    assert.equal(idle.current?.nextSeq, 2);
    assert.equal(idle.current?.chainSize, 8);
  });

  it('two sessions opened at once on one chain: the higher nonce is live and only its blocks follow the shared prefix', () => {
    const upload = newUploadId('n');
    const s1 = { gen: 1, nonce: 'aaaaa' };
    const low = { gen: 2, nonce: 'bbbbb' };
    const high = { gen: 2, nonce: 'ccccc' };
    const blocks = [
      opened(upload, 0, s1),
      data(upload, 0, s1, 4),
      opened(upload, 1, low, s1),
      opened(upload, 1, high, s1),
      data(upload, 1, low, 5),
      data(upload, 2, low, 5),
      data(upload, 1, high, 6),
    ];
    const staged = analyseUncommitted(blocks);
    assert.deepEqual(staged.current?.chain, [dataBlockId(upload, 0, s1, STAMP), dataBlockId(upload, 1, high, STAMP)]);
    const lowMarker = openMarkerId(upload, 1, low, s1, STAMP);
    const highMarker = openMarkerId(upload, 1, high, s1, STAMP);
    assert.equal(liveness(blocks, highMarker, high), 'live');
    assert.equal(liveness(blocks, lowMarker, low), 'superseded');
    assert.equal(liveness([data(upload, 0, s1, 4)], highMarker, high), 'gone', 'the marker was dropped (a commit, rewrite or delete)');
  });

  it('an open marker makes an empty upload exist; the last write is the latest stamp; blocks without a session are no upload to resume', () => {
    const upload = newUploadId('n');
    const s1 = { gen: 1, nonce: 'aaaaa' };
    const s2 = { gen: 2, nonce: 'bbbbb' };
    const staged = analyseUncommitted([opened(upload, 0, s1, undefined, 5000), opened(upload, 0, s2, s1, 9000)]);
    assert.equal(staged.current?.chainSize, 0);
    assert.equal(staged.current?.lastWrite, 9000);
    assert.equal(analyseUncommitted([]).current, undefined);
    const put = analyseUncommitted([data(newUploadId('n'), 0, newSession(0), 10)]);
    assert.equal(put.current, undefined);
    assert.equal(put.all.length, 1);
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
    const stager = new BlockStager(rec.stage, (seq) => String(seq), { blockSize: 10, concurrency: 3 });
    const data = Buffer.from(Array.from({ length: 95 }, (_, i) => i));
    for (let offset = 0; offset < data.length; offset += 7) await stager.push(data.subarray(offset, offset + 7));
    assert.equal(stager.buffered.length, 5, 'the tail stays buffered until flush');
    await stager.flush();
    assert.deepEqual(
      stager.ids,
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
    assert.deepEqual(
      Buffer.concat(stager.ids.map((id) => rec.staged.get(id)!)),
      data,
      'block contents, in id order, are the stream (buffers are reused safely)',
    );
    assert.ok(rec.maxInFlight() <= 3 && rec.maxInFlight() >= 2, `in flight at once: ${rec.maxInFlight()}`);
  });

  it('keeps the first failure and rethrows it on the next call', async () => {
    let calls = 0;
    const stager = new BlockStager(
      async () => {
        if (++calls === 2) throw new Error('stage failed');
      },
      String,
      { blockSize: 4, concurrency: 4 },
    );
    // The failure surfaces on the push that sees it or at the latest on flush, and on every call after.
    await assert.rejects(
      stager.push(Buffer.alloc(12)).then(() => stager.flush()),
      /stage failed/,
    );
    await assert.rejects(stager.push(Buffer.alloc(1)), /stage failed/);
    await assert.rejects(stager.flush(), /stage failed/);
  });

  it('refuses the block that would take the upload past the limit, before staging it', async () => {
    const rec = recorder(() => 0);
    const stager = new BlockStager(rec.stage, String, { blockSize: 2, concurrency: 2, maxBlocks: 3, tooLarge: (blocks) => new Error(`${blocks} blocks`) });
    await stager.push(Buffer.alloc(6));
    await stager.settle();
    assert.equal(rec.staged.size, 3);
    await stager.push(Buffer.alloc(1)); // buffered: fine
    await assert.rejects(stager.flush(), /4 blocks/);
    assert.equal(rec.staged.size, 3);
  });

  it('stages a block as soon as it is full, not once more bytes arrive', async () => {
    const rec = recorder(() => 0);
    const stager = new BlockStager(rec.stage, String, { blockSize: 4, concurrency: 2 });
    await stager.push(Buffer.alloc(4, 1));
    await stager.settle();
    assert.deepEqual([...rec.staged.keys()], ['0'], 'the full block went out with the push that filled it');
    assert.equal(stager.buffered.length, 0);
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
    const outcome = await waitForCopy(
      { status: 'pending', copyId: 'c' },
      script([
        { status: 'pending', copyId: 'c' },
        { status: 'success', copyId: 'c' },
      ]),
      settings,
      async (ms) => {
        slept.push(ms);
      },
    );
    assert.deepEqual(outcome, { kind: 'success' });
    assert.deepEqual(slept, [10, 20]);
  });

  it('reports a copy still pending after the last poll, and with -1 one that did not finish at once', async () => {
    const pending = script([{ status: 'pending', copyId: 'c' }]);
    assert.deepEqual(await waitForCopy({ status: 'pending', copyId: 'c' }, pending, settings, async () => undefined), {
      kind: 'unfinished',
      polls: 3,
      copyId: 'c',
    });
    assert.deepEqual(
      await waitForCopy({ status: 'pending', copyId: 'c' }, pending, { maxRetry: -1, delayMs: 10 }, async () => assert.fail('no sleep with -1')),
      {
        kind: 'unfinished',
        polls: 0,
        copyId: 'c',
      },
    );
    assert.deepEqual(await waitForCopy({ status: 'success' }, pending, { maxRetry: -1, delayMs: 10 }, async () => undefined), { kind: 'success' });
  });

  it('reports failed and aborted copies, and a copy replaced by another', async () => {
    const failed = await waitForCopy(
      { status: 'pending', copyId: 'c' },
      script([{ status: 'failed', copyId: 'c', description: '500 InternalError' }]),
      settings,
      async () => undefined,
    );
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
