import assert from 'node:assert/strict';
import { KiB, MiB, isPathNotFound } from '@stowage/core';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';
import { bytes, namesUnder, writeInSessions } from './helpers';

// distribution #2878: its swift driver's Move copied only the manifest, so source and destination
// shared segments, and deleting or overwriting the source destroyed the destination (a blob moved
// into place by the registry lost its data). Here a moved large object must own segments of its
// own, and nothing done to the source afterwards may touch them.
/** One writer session's bytes: a whole 1 MiB segment and a short one. */
const SESSION = Math.round(1.2 * MiB);

describe('swift: a move never shares segments (distribution #2878)', function () {
  let options: SwiftDriverOptions;
  let driver: SwiftDriver;

  before(async function () {
    options = await swiftContainer(this, 'movesegs');
    driver = new SwiftDriver(options);
  });

  after(async () => {
    if (driver) await driver.destroy();
    if (options) await dropContainer(options);
  });

  const segmentPaths = async (path: string) =>
    (await swiftDriverInternals(driver).container.readManifest(driver.layout.objectName(path), {})).map((entry) => entry.path);
  const ownPrefix = (path: string) => `/${options.container}/${driver.layout.generationsPrefix(path)}`;

  async function assertWhole(path: string, content: Buffer, when: string): Promise<void> {
    const got = await driver.getContent(path);
    assert.equal(got.length, content.length, `${path} ${when}: ${got.length} bytes instead of ${content.length}`);
    assert.ok(got.equals(content), `${path} ${when}: different bytes`);
  }

  it("the destination owns its segments; the source's go, and later writes and deletes at the source leave it whole", async () => {
    const A = '/2878/a/x/file';
    const B = '/2878/b/file';
    // Three writer sessions of 1.2 MiB with 1 MiB segments: whole and short segments, resumed twice.
    const content = bytes(3 * SESSION);
    await writeInSessions(driver, A, [content.subarray(0, SESSION), content.subarray(SESSION, 2 * SESSION), content.subarray(2 * SESSION)]);
    assert.ok((await segmentPaths(A)).length >= 4, 'A should be an SLO of several segments');

    await driver.move(A, B);
    await assertWhole(B, content, 'after the move');
    const segments = await segmentPaths(B);
    assert.ok(segments.length >= 4);
    for (const segment of segments) {
      assert.ok(segment.startsWith(ownPrefix(B)), `B's segment ${segment} is not under B's generations (${ownPrefix(B)})`);
      assert.ok(!segment.startsWith(ownPrefix(A)), `B's segment ${segment} is one of A's`);
    }
    assert.deepEqual(await driver.leftovers(A), []);
    assert.deepEqual(await namesUnder(driver, driver.layout.generationsPrefix(A)), [], "A's segments must be deleted by the move");
    assert.deepEqual(await namesUnder(driver, driver.layout.segmentsBelow(A)), []);
    await assert.rejects(driver.stat(A), isPathNotFound);

    // New content at A: a small file, then an append that makes it a large object again.
    const small = bytes(40 * KiB);
    await driver.putContent(A, small);
    await assertWhole(B, content, 'after putContent at A');
    const appended = bytes(1.5 * MiB);
    const writer = await driver.writer(A, true);
    await writer.write(appended);
    await writer.commit();
    await assertWhole(A, Buffer.concat([small, appended]), 'after the append');
    await assertWhole(B, content, 'after an append at A');

    await driver.delete(A);
    await assertWhole(B, content, 'after deleting A');
    await driver.putContent(A, bytes(10));
    await driver.delete('/2878/a');
    await assertWhole(B, content, "after deleting A's parent");

    // Every segment B's manifest names is still there, and B's manifest is unchanged.
    assert.deepEqual(await segmentPaths(B), segments);
    const stored = new Set(await namesUnder(driver, driver.layout.generationsPrefix(B)));
    for (const segment of segments) assert.ok(stored.has(segment.slice(options.container.length + 2)), `segment ${segment} is gone`);
    assert.deepEqual(await driver.leftovers('/2878'), []);
  });

  it("a move over an existing large object deletes the replaced generation's segments", async () => {
    const B = '/over/b';
    const C = '/over/c';
    const D = '/over/d';
    const first = bytes(2.5 * MiB);
    await writeInSessions(driver, B, [first]);
    const replacedGeneration = (await swiftDriverInternals(driver).container.head(driver.layout.objectName(B), {}))?.generation;
    assert.ok(replacedGeneration, 'an SLO written by the driver carries its generation');
    assert.ok((await namesUnder(driver, driver.layout.generationDir(B, replacedGeneration))).length >= 3);

    // B replaced by a moved large object.
    const second = bytes(2 * SESSION);
    await writeInSessions(driver, C, [second.subarray(0, SESSION), second.subarray(SESSION)]);
    await driver.move(C, B);
    await assertWhole(B, second, 'after the move over it');
    const head = await swiftDriverInternals(driver).container.head(driver.layout.objectName(B), {});
    assert.ok(head?.slo && head.generation && head.generation !== replacedGeneration);
    assert.deepEqual(await namesUnder(driver, driver.layout.generationDir(B, replacedGeneration)), [], 'the replaced generation must be deleted');
    for (const segment of await segmentPaths(B)) assert.ok(segment.startsWith(ownPrefix(B)), segment);
    assert.deepEqual(await driver.leftovers(B), []);
    assert.deepEqual(await driver.leftovers(C), []);

    // B replaced by a moved plain object: its last generation goes too.
    const movedGeneration = head.generation;
    const third = bytes(20 * KiB);
    await driver.putContent(D, third);
    await driver.move(D, B);
    await assertWhole(B, third, 'after a plain file moved over it');
    assert.equal((await swiftDriverInternals(driver).container.head(driver.layout.objectName(B), {}))?.slo, false);
    assert.deepEqual(await namesUnder(driver, driver.layout.generationDir(B, movedGeneration)), []);
    assert.deepEqual(await driver.leftovers('/over'), []);
  });
});
