/** Concurrency beyond distribution's: many paths at once, and many writers racing on one path. */
import assert from 'node:assert/strict';
import { KiB, MiB, isTransient, isUploadFenced } from '@stowage/core';
import { TestData, hashStream, sha256 } from '../data';
import type { Harness, TestContext } from './harness';
import { expectStreamMatches, describeSize, writeData } from './helpers';

const PARALLEL_PATHS = 32;

export function registerConcurrencyTests(h: Harness): void {
  const { profile } = h;
  // Distinct sizes per path, so content landing at the wrong path is caught by size as well.
  const baseSize = Math.min(profile.concurrentStreamSize, 256 * KiB);

  describe('concurrency', () => {
    h.test(
      `${PARALLEL_PATHS} concurrent writers, then ${PARALLEL_PATHS} concurrent readers, on distinct paths (about ${describeSize(baseSize)} each)`,
      async (t) => {
        t.deleteAfter(t.prefix);
        const items = Array.from({ length: PARALLEL_PATHS }, (_, i) => ({
          path: t.path(`w${i % 4}/file-${i}`),
          data: new TestData(baseSize + i * 1031),
        }));
        await Promise.all(
          items.map(async ({ path, data }) => {
            const writer = await t.driver.writer(path, false);
            await writeData(writer, data, 16 * KiB);
            assert.equal(writer.size, data.size, `writer.size of ${path}`);
            await writer.commit();
          }),
        );
        await Promise.all(
          items.map(async ({ path, data }) => {
            const [info, stream] = await Promise.all([t.driver.stat(path), t.driver.reader(path, 0)]);
            assert.equal(info.size, data.size, `stat size of ${path}`);
            await expectStreamMatches(stream, data, 0, `reader(${path})`);
          }),
        );
        // Mixed: readers at offsets while the same paths are listed and stat'ed.
        await Promise.all([
          ...items.map(async ({ path, data }) =>
            expectStreamMatches(await t.driver.reader(path, data.size >> 1), data, data.size >> 1, `reader(${path}) from the middle`),
          ),
          ...[0, 1, 2, 3].map(async (d) => {
            const listed = await t.driver.list(t.path(`w${d}`));
            assert.deepEqual(
              listed,
              items
                .filter((_, i) => i % 4 === d)
                .map((x) => x.path)
                .sort(),
              `list of w${d}`,
            );
          }),
        ]);
      },
    );

    h.test('concurrent putContent on one path leaves exactly one whole version', async (t) => {
      const path = t.path('contended');
      t.deleteAfter(path);
      for (let round = 0; round < 3; round++) {
        const candidates = Array.from({ length: 8 }, (_, i) => new TestData(64 * KiB + i * 70_001 + round).all());
        await Promise.all(candidates.map((c) => t.driver.putContent(path, c)));
        await expectOneOf(t, path, candidates, `round ${round + 1}`);
      }
    });

    h.test('concurrent writers committing to one path: the last one opened wins with exactly its bytes, the others are fenced', async (t) => {
      const path = t.path('contended');
      t.deleteAfter(path);
      const candidates = Array.from({ length: 8 }, (_, i) => new TestData(48 * KiB + i * 33_333));
      // All open first: a writer that could commit before the last one opens would win legitimately.
      const writers = await Promise.all(candidates.map(() => t.driver.writer(path, false)));
      const outcomes = await Promise.all(
        candidates.map(async (data, i) => {
          const writer = writers[i]!;
          try {
            await writeData(writer, data, 8 * KiB);
            await writer.commit();
            return 'committed';
          } catch (err) {
            if (!isUploadFenced(err)) throw err;
            await writer.cancel().catch(() => undefined);
            return 'fenced';
          }
        }),
      );
      const winners = candidates.filter((_, i) => outcomes[i] === 'committed');
      assert.equal(winners.length, 1, `exactly one of 8 racing writers commits, the others are fenced (${winners.length} committed)`);
      await expectOneOf(
        t,
        path,
        winners.map((d) => d.all()),
        'after the race',
      );
    });

    h.test('readers during rewrites see one whole version, never a mix (commit is atomic)', async (t) => {
      const path = t.path('file');
      t.deleteAfter(path);
      const versions = [new TestData(MiB).all(), new TestData(MiB + MiB / 2).all()];
      const known = new Map(versions.map((v) => [sha256(v), v.length]));
      await t.driver.putContent(path, versions[0]!);

      let writing = true;
      let reads = 0;
      const writer = (async () => {
        try {
          for (let i = 1; i <= 20; i++) await t.driver.putContent(path, versions[i % 2]!);
        } finally {
          writing = false;
        }
      })();
      const read = async (useStream: boolean) => {
        try {
          return useStream ? await hashStream(await t.driver.reader(path, 0)) : { sha256: sha256(await t.driver.getContent(path)) };
        } catch (err) {
          if (useStream && t.options.faultsInjected && isTransient(err)) return undefined; // cut and not resumable: see faultsInjected
          throw err;
        }
      };
      const reader = async (useStream: boolean) => {
        while (writing) {
          const got = await read(useStream);
          if (!got) continue;
          assert.ok(known.has(got.sha256), `a ${useStream ? 'stream' : 'getContent'} read during the rewrites returned bytes that are neither version`);
          reads++;
        }
      };
      await Promise.all([writer, reader(true), reader(false), reader(true)]);
      assert.ok(reads > 0, 'no read overlapped the rewrites');
    });
  });
}

async function expectOneOf(t: TestContext, path: string, candidates: Buffer[], what: string): Promise<void> {
  const content = await t.driver.getContent(path);
  const matches = candidates.filter((c) => c.length === content.length && c.equals(content));
  assert.equal(matches.length, 1, `${what}: the content (${content.length} bytes) must be exactly one of the versions written`);
  assert.equal((await t.driver.stat(path)).size, content.length, `${what}: stat size matches the content`);
}
