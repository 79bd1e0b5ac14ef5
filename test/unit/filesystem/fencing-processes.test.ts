/**
 * One live writer per upload, across real OS processes: two long-lived child processes race on one
 * path round after round (both writer(P, false), or both writer(P, true) on a closed upload), each
 * writing its own bytes in interleaved chunks and committing. After every round the committed file
 * must be exactly the byte sequence of a writer whose commit reported success, stay so on re-read,
 * and every failed commit must be ERR_UPLOAD_FENCED. The figures are printed for the record.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { isPathNotFound } from '@stowage/core';
import { CHILD_PRELUDE, pattern, sha256, useTempRoot } from './helpers';

const ROUNDS = 120;
const CHUNK = 64 * 1024;
const CHUNKS = 4;

/** What a racer reports for one round. */
interface Report {
  round: number;
  /** writer.size when opened. */
  opened: number;
  /** 'ok' or the error code of the commit. */
  commit: string;
  /** The code of a write that failed (the writer then stops writing), if any. */
  write?: string;
}

/** A child process that runs one racing writer per command line it is sent. */
class Racer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly reports: AsyncIterator<string>;
  private stderr = '';

  constructor(
    root: string,
    readonly name: string,
  ) {
    this.child = spawn(process.execPath, ['-e', CHILD_PRELUDE + racerScript(root)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    this.reports = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async run(command: { round: number; path: string; append: boolean }): Promise<Report> {
    this.child.stdin.write(`${JSON.stringify({ ...command, seed: this.seed(command.round) })}\n`);
    const next = await this.reports.next();
    if (next.done) throw new Error(`racer ${this.name} exited: ${this.stderr}`);
    return JSON.parse(next.value) as Report;
  }

  seed(round: number): string {
    return `${this.name}-${round}`;
  }

  async stop(): Promise<void> {
    this.child.stdin.end();
    await new Promise((resolve) => this.child.once('close', resolve));
  }
}

function racerScript(root: string): string {
  return `
    const driver = new FilesystemDriver({ rootDirectory: ${JSON.stringify(root)} });
    (async () => {
      for await (const line of require('node:readline').createInterface({ input: process.stdin })) {
        const { round, path, append, seed } = JSON.parse(line);
        const writer = await driver.writer(path, append);
        const report = { round, opened: writer.size };
        for (let i = 0; i < ${CHUNKS}; i++) {
          try {
            await writer.write(pattern(seed, i * ${CHUNK}, ${CHUNK}));
          } catch (err) {
            report.write = err.code;
            break;
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        try {
          await writer.commit();
          report.commit = 'ok';
        } catch (err) {
          report.commit = err.code;
          await writer.cancel().catch(() => undefined);
        }
        console.log(JSON.stringify(report));
      }
    })().catch((err) => { console.error(err); process.exit(3); });
  `;
}

describe('filesystem: one live writer per upload across processes', function () {
  this.timeout(300_000);
  const tmp = useTempRoot();
  let racers: Racer[] = [];

  beforeEach(() => {
    racers = [new Racer(tmp.root, 'A'), new Racer(tmp.root, 'B')];
  });
  afterEach(async () => {
    await Promise.all(racers.map((r) => r.stop()));
  });

  for (const append of [false, true]) {
    it(`${ROUNDS} rounds of two processes racing writer(path, ${append}) + commit: the committed bytes are always a successful writer's own`, async () => {
      const driver = tmp.driver({ syncOnCommit: true });
      const path = '/race/upload';
      const tally = { oneWon: 0, bothCommitted: 0, writesFenced: 0 };
      for (let round = 1; round <= ROUNDS; round++) {
        let base: Buffer = Buffer.alloc(0);
        if (append) {
          // A closed upload both resume, over the previous round's committed file.
          base = pattern(`base-${round}`, 0, 10_000 + round);
          const opener = await driver.writer(path, false);
          await opener.write(base);
          await opener.close();
        }
        const reports = await Promise.all(racers.map((r) => r.run({ round, path, append })));
        const content = await driver.getContent(path);

        const candidates = reports.flatMap((report, i) => {
          if (report.commit !== 'ok') {
            assert.equal(report.commit, 'ERR_UPLOAD_FENCED', `round ${round}: racer ${racers[i]!.name}'s commit failed with ${report.commit}`);
            return [];
          }
          // What the writer resumed: nothing (fresh), or the closed upload plus as much of the
          // other racer's bytes (committed, or staged when it took the upload over) as were there.
          const othersSequence = Buffer.concat([base, pattern(racers[1 - i]!.seed(round), 0, CHUNK * CHUNKS)]);
          const explained = append ? report.opened >= base.length && report.opened <= othersSequence.length : report.opened === 0;
          assert.ok(explained, `round ${round}: racer ${racers[i]!.name} opened at ${report.opened} bytes, which no writer sequence explains`);
          const start = othersSequence.subarray(0, report.opened);
          return [Buffer.concat([start, pattern(racers[i]!.seed(round), 0, CHUNK * CHUNKS)])];
        });
        assert.ok(candidates.length >= 1, `round ${round}: no commit succeeded`);
        assert.ok(
          candidates.some((c) => c.equals(content)),
          `round ${round}: the committed file (${content.length} bytes, sha256 ${sha256(content).slice(0, 12)}) is no successful writer's byte sequence`,
        );
        const again = await driver.getContent(path);
        assert.ok(again.equals(content), `round ${round}: the committed file changed after both commits returned`);

        if (candidates.length === 2) tally.bothCommitted++;
        else tally.oneWon++;
        tally.writesFenced += reports.filter((r) => r.write === 'ERR_UPLOAD_FENCED').length;
        // Only the committed file can be continued: no unfinished upload survives a round.
        const continued = await driver.writer(path, true);
        assert.equal(continued.size, content.length, `round ${round}: an unfinished upload survived the race`);
        await continued.cancel();
      }
      await driver.delete('/race');
      assert.deepEqual(await driver.leftovers('/'), [], 'nothing left in staging');
      await assert.rejects(driver.stat(path), isPathNotFound);
      console.log(
        `      ${ROUNDS} rounds, writer(path, ${append}): one commit won ${tally.oneWon}, both committed in turn ${tally.bothCommitted}, ` +
          `${tally.writesFenced} writes fenced, 0 violations`,
      );
    });
  }
});
