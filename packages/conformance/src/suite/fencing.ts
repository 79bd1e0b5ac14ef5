/**
 * One live writer per upload: opening a writer fences every earlier writer of the same upload, in
 * any instance; a commit publishes exactly its own writer sequence's bytes, and committed content
 * never changes afterwards. The second writer comes from `newInstance` when there is one (another
 * client of the same storage), else from the same driver.
 */
import assert from 'node:assert/strict';
import { ErrorCode, KiB, MiB, isUploadFenced, readAll, type FileWriter, type StorageDriver } from '@stowage/core';
import { TestData, sha256 } from '../data';
import type { Harness, TestContext } from './harness';
import { describeError } from './harness';
import { describeSize, expectError, expectPathNotFound, sleep } from './helpers';

/** Interleaved writes are this big, as a registry's PATCH bodies arrive. */
const WRITE_SIZE = 256 * KiB;
const RACE_ROUNDS = 3;

export function registerFencingTests(h: Harness): void {
  const { profile } = h;
  // Past one S3/OSS part (5 MiB) and several Swift/Azure segments outside the quick profile.
  const writerBytes = profile.appendLargeChunk >= 10 * MiB ? 6 * MiB + 3 : 300 * KiB + 3;
  const baseBytes = profile.appendLargeChunk >= 10 * MiB ? MiB + 5 : 100 * KiB + 5;

  describe('one live writer per upload (fencing)', () => {
    h.test('a newer writer(path, false) fences the earlier one: its commit fails with ERR_UPLOAD_FENCED and publishes nothing', async (t) => {
      const path = t.path('upload');
      t.deleteAfter(path);
      const [one, two] = await instances(t);
      const first = await one.writer(path, false);
      await first.write(new TestData(40 * KiB + 1).all());
      const second = await two.writer(path, false);
      assert.equal(second.size, 0, 'a fresh writer starts at 0');
      const mine = new TestData(30 * KiB + 7);
      await second.write(mine.all());

      await expectWriteFencedOrHarmless(first, path);
      await expectError(first.commit(), ErrorCode.UploadFenced, { driver: t.driver, path, what: 'commit of the fenced writer' });
      await expectPathNotFound(t.driver.stat(path), { driver: t.driver, path, what: 'stat after the fenced commit' });
      await expectError(first.close(), ErrorCode.UploadFenced, { driver: t.driver, path, what: 'close of the fenced writer' });
      await expectError(first.cancel(), ErrorCode.UploadFenced, { driver: t.driver, path, what: 'cancel of the fenced writer' });

      await second.commit();
      await expectContent(t, path, mine.all(), 'the newer writer committed');
    });

    h.test('each operation of a fenced writer fails on its own (commit, close, cancel) and the last writer commits the chain it resumed', async (t) => {
      const path = t.path('upload');
      t.deleteAfter(path);
      const [one, two] = await instances(t);
      const base = new TestData(baseBytes);
      const opener = await one.writer(path, false);
      await opener.write(base.all());
      await opener.close();

      // Each writer's logical content: what it resumed (a prefix of its predecessor's) plus its own bytes.
      let logical = base.all();
      const open = async (driver: StorageDriver, what: string): Promise<FileWriter> => {
        const writer = await driver.writer(path, true);
        assert.ok(writer.size <= logical.length, `${what}: size on resume (${writer.size}) is more than was ever written (${logical.length})`);
        assert.ok(writer.size >= base.size, `${what}: size on resume (${writer.size}) lost the closed session's bytes (${base.size})`);
        logical = logical.subarray(0, writer.size);
        return writer;
      };
      const write = async (writer: FileWriter, size: number): Promise<void> => {
        const bytes = new TestData(size).all();
        await writer.write(bytes);
        logical = Buffer.concat([logical, bytes]);
      };

      const w1 = await open(one, 'first resume');
      await write(w1, 20 * KiB + 1);
      const w2 = await open(two, 'second resume');
      await expectError(w1.commit(), ErrorCode.UploadFenced, { driver: t.driver, path, what: 'commit of the first (fenced) writer' });
      await write(w2, 20 * KiB + 2);
      const w3 = await open(one, 'third resume');
      await expectError(w2.close(), ErrorCode.UploadFenced, { driver: t.driver, path, what: 'close of the second (fenced) writer' });
      await write(w3, 20 * KiB + 3);
      const w4 = await open(two, 'fourth resume');
      await expectError(w3.cancel(), ErrorCode.UploadFenced, { driver: t.driver, path, what: 'cancel of the third (fenced) writer' });
      await expectPathNotFound(t.driver.stat(path), { driver: t.driver, path, what: 'stat while only fenced writers have failed' });
      await write(w4, 20 * KiB + 4);
      await w4.commit();
      await expectContent(t, path, logical, 'the last writer committed');
    });

    h.test(
      `two writer(path, false) opened at once, ${describeSize(writerBytes)} each in interleaved ${describeSize(WRITE_SIZE)} writes, both commit: one wins with exactly its bytes (${RACE_ROUNDS} rounds)`,
      async (t) => {
        const path = t.path('race');
        t.deleteAfter(path);
        const [one, two] = await instances(t);
        for (let round = 1; round <= RACE_ROUNDS; round++) {
          const datas = [new TestData(writerBytes + round), new TestData(writerBytes + 2 * round + 1)];
          const writers = await Promise.all([one.writer(path, false), two.writer(path, false)]);
          const outcomes = await raceWritersToCommit(
            writers,
            datas.map((d) => d.all()),
          );
          const winner = oneWinner(outcomes, `round ${round}`);
          await expectContent(t, path, datas[winner]!.all(), `round ${round}: the winner committed`);
        }
      },
    );

    h.test(
      `two writer(path, true) resuming one upload at once, writing distinct bytes, both commit: one wins with the upload plus exactly its bytes (${RACE_ROUNDS} rounds)`,
      async (t) => {
        const path = t.path('race');
        t.deleteAfter(path);
        const [one, two] = await instances(t);
        for (let round = 1; round <= RACE_ROUNDS; round++) {
          const base = new TestData(baseBytes + round);
          const opener = await one.writer(path, false);
          await opener.write(base.all());
          await opener.close();
          const writers = await Promise.all([one.writer(path, true), two.writer(path, true)]);
          writers.forEach((w, i) => assert.equal(w.size, base.size, `round ${round}: writer ${i + 1} resumes at the closed upload's size`));
          const datas = [new TestData(writerBytes + 3 * round), new TestData(writerBytes + 5 * round)];
          const outcomes = await raceWritersToCommit(
            writers,
            datas.map((d) => d.all()),
          );
          const winner = oneWinner(outcomes, `round ${round}`);
          await expectContent(t, path, Buffer.concat([base.all(), datas[winner]!.all()]), `round ${round}: the winner committed`);
        }
      },
    );
  });
}

/** Two clients of one storage: the driver and a new instance, or the driver twice. */
async function instances(t: TestContext): Promise<[StorageDriver, StorageDriver]> {
  return [t.driver, t.options.newInstance ? await t.newInstance() : t.driver];
}

/** A fenced writer's write either fails with ERR_UPLOAD_FENCED or is taken into memory only (never stored). */
async function expectWriteFencedOrHarmless(writer: FileWriter, path: string): Promise<void> {
  try {
    await writer.write(new TestData(10 * KiB).all());
  } catch (err) {
    assert.ok(isUploadFenced(err), `write of the fenced writer: expected success (buffered) or ERR_UPLOAD_FENCED, got ${describeError(err)}`);
    assert.equal((err as { path?: string }).path, path, 'the fenced error names the path');
  }
}

type Outcome = { ok: true } | { ok: false; error: unknown };

/**
 * Each writer writes its bytes in WRITE_SIZE pieces, taking turns, then both commit at once. A
 * writer whose write is fenced stops writing and still tries to commit, as a careless caller would.
 */
async function raceWritersToCommit(writers: FileWriter[], contents: Buffer[]): Promise<Outcome[]> {
  const fencedEarly = writers.map(() => false);
  const longest = Math.max(...contents.map((c) => c.length));
  for (let at = 0; at < longest; at += WRITE_SIZE) {
    await Promise.all(
      writers.map(async (writer, i) => {
        const content = contents[i]!;
        if (fencedEarly[i] || at >= content.length) return;
        try {
          await writer.write(content.subarray(at, Math.min(content.length, at + WRITE_SIZE)));
        } catch (err) {
          if (!isUploadFenced(err)) throw err;
          fencedEarly[i] = true;
        }
      }),
    );
  }
  const settled = await Promise.allSettled(writers.map((w) => w.commit()));
  // The losers' own staged state must not linger: a fenced writer's cancel fails and changes nothing.
  await Promise.all(writers.map((w) => w.cancel().catch(() => undefined)));
  return settled.map((s) => (s.status === 'fulfilled' ? { ok: true } : { ok: false, error: s.reason as unknown }));
}

/** Exactly one commit succeeded; every other failed with ERR_UPLOAD_FENCED. Returns the winner's index. */
function oneWinner(outcomes: Outcome[], what: string): number {
  const winners = outcomes.flatMap((o, i) => (o.ok ? [i] : []));
  for (const o of outcomes) {
    if (!o.ok) assert.ok(isUploadFenced(o.error), `${what}: a losing commit must fail with ERR_UPLOAD_FENCED, got ${describeError(o.error)}`);
  }
  assert.equal(winners.length, 1, `${what}: exactly one of the racing commits must succeed (${winners.length} did)`);
  return winners[0]!;
}

/** The committed content is `expected` by sha256, through stat, getContent and reader, and still is a moment later. */
async function expectContent(t: TestContext, path: string, expected: Buffer, what: string): Promise<void> {
  const want = sha256(expected);
  for (const when of ['right after commit', 'a moment later']) {
    if (when !== 'right after commit') await sleep(300);
    const info = await t.driver.stat(path);
    assert.equal(info.size, expected.length, `${what}: stat size ${when}`);
    const streamed = await readAll(await t.driver.reader(path, 0));
    assert.equal(streamed.length, expected.length, `${what}: bytes read ${when}`);
    assert.equal(sha256(streamed), want, `${what}: sha256 of the content ${when} is exactly the winning writer's sequence`);
  }
}
