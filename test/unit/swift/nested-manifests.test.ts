import assert from 'node:assert/strict';
import { MiB, isPathNotFound } from '@stowage/core';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';
import { bytes, namesUnder, writeInSessions } from './helpers';

/**
 * Past the cluster's SLO segment limit (1000 by default: 20 GiB at the default chunksize) commit
 * nests manifests. The local Swift allows 10000 segments, so this driver instance is told the
 * limit is 4 (only /info's answer is replaced; every manifest is still PUT to, checked by and
 * served from the real Swift).
 */
describe('swift: nested manifests past the segment limit', function () {
  let options: SwiftDriverOptions;
  let driver: SwiftDriver;

  const extra: SwiftDriver[] = [];

  /** A driver told that one manifest may list `limit` entries. */
  function withLimit(limit: number): SwiftDriver {
    const made = new SwiftDriver(options);
    const info = swiftDriverInternals(made).client.info.bind(swiftDriverInternals(made).client);
    swiftDriverInternals(made).client.info = async (signal) => ({ ...(await info(signal)), slo: { max_manifest_segments: limit } });
    return made;
  }

  before(async function () {
    options = await swiftContainer(this, 'nested');
    driver = withLimit(4);
  });

  after(async () => {
    await Promise.all([driver, ...extra].filter(Boolean).map((d) => d.destroy()));
    if (options) await dropContainer(options);
  });

  it('a 10-segment file commits as a manifest of nested manifests and reads, moves and deletes whole', async () => {
    const content = bytes(9.5 * MiB);
    // Three sessions: whole and short segments, 10 in all (1 MiB segments, sessions of 3.2 MiB / 3.2 MiB / the rest).
    const cut = Math.round(3.2 * MiB);
    await writeInSessions(driver, '/n/a', [content.subarray(0, cut), content.subarray(cut, 2 * cut), content.subarray(2 * cut)]);

    const top = await swiftDriverInternals(driver).container.readManifest(driver.layout.objectName('/n/a'), {});
    assert.equal(top.length, 3, 'the top manifest lists 3 nested manifests (4 + 4 + 2 segments)');
    assert.ok(
      top.every((entry) => /\/manifest-\d+-\d{8}$/.test(entry.path)),
      'the top manifest lists nested manifests',
    );
    assert.equal((await driver.stat('/n/a')).size, content.length);
    assert.ok((await driver.getContent('/n/a')).equals(content));
    const tail: Buffer[] = [];
    const from = 3 * MiB - 7; // inside the second nested manifest's range
    for await (const chunk of await driver.reader('/n/a', from)) tail.push(chunk as Buffer);
    assert.ok(Buffer.concat(tail).equals(content.subarray(from)));

    // Append copies the leaf segments (a nested manifest copied whole could pass 5 GiB).
    const writer = await driver.writer('/n/a', true);
    assert.equal(writer.size, content.length);
    const more = bytes(MiB / 2);
    await writer.write(more);
    await writer.commit();
    const grown = Buffer.concat([content, more]);
    assert.ok((await driver.getContent('/n/a')).equals(grown));

    await driver.move('/n/a', '/n/b');
    assert.ok((await driver.getContent('/n/b')).equals(grown));
    await assert.rejects(driver.stat('/n/a'), isPathNotFound);
    assert.deepEqual(await driver.leftovers('/n'), [], 'no segment or nested manifest is left unowned');

    await driver.delete('/n');
    assert.deepEqual(await namesUnder(driver, driver.layout.segmentsBelow('/n')), [], 'deleting the top manifest deletes every level below it');
  });

  it('past two levels (the limit squared) a write fails with a typed error, and cancel leaves nothing', async () => {
    const small = withLimit(2);
    extra.push(small);
    const writer = await small.writer('/n/big', false);
    // 4 segments fit (2 x 2); the fifth is refused before it is sent.
    await writer.write(bytes(4 * MiB + 1));
    await assert.rejects(writer.write(bytes(MiB)), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
      assert.match(String(err), /exceeds 4 segments/);
      return true;
    });
    await writer.cancel();
    assert.deepEqual(await small.leftovers('/n'), []);
    await assert.rejects(small.stat('/n/big'), isPathNotFound);
  });
});
