import assert from 'node:assert/strict';
import { MiB, isUploadFenced, type FileWriter } from '@stowage/core';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';
import { bytes, namesUnder } from './helpers';

/**
 * One live writer per upload, at the moments the conformance suite cannot reach: a fenced
 * writer's segment PUT that passed its marker check but lands only after a newer writer opened.
 * Two driver instances stand for two registry processes; the fenced one's segment PUTs are held
 * at a gate (the real request, sent late) to pin the race down.
 */
describe('swift: fencing a writer whose segment is in flight', function () {
  let options: SwiftDriverOptions;
  const drivers: SwiftDriver[] = [];
  let round = 0;

  before(async function () {
    const { service: _service, ...rest } = await swiftContainer(this, 'fencing', { chunkSize: MiB });
    options = rest;
  });

  after(async () => {
    await Promise.all(drivers.map((d) => d.destroy()));
    if (options) await dropContainer(options);
  });

  const newDriver = (): SwiftDriver => {
    const driver = new SwiftDriver(options);
    drivers.push(driver);
    return driver;
  };

  /**
   * Sends `driver`'s segment PUTs from index 2 on only once `open()` is called; `sent()` settles
   * when the earlier ones have landed, `landed()` when the held ones have.
   */
  function gateSegments(driver: SwiftDriver): { open: () => void; sent: () => Promise<unknown>; landed: () => Promise<unknown> } {
    const put = swiftDriverInternals(driver).container.put.bind(swiftDriverInternals(driver).container);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const early: Array<Promise<string>> = [];
    const held: Array<Promise<string>> = [];
    swiftDriverInternals(driver).container.put = (name, body, opts, headers) => {
      const index = driver.layout.parseSegment(name)?.index;
      if (index === undefined) return put(name, body, opts, headers);
      const sent = index < 2 ? put(name, body, opts, headers) : gate.then(() => put(name, body, opts, headers));
      (index < 2 ? early : held).push(sent);
      return sent;
    };
    return { open, sent: () => Promise.allSettled(early), landed: () => Promise.allSettled(held) };
  }

  /** A writer with segment 1 stored and segment 2's PUT held back after its marker check passed. */
  async function writerWithSegmentInFlight(
    path: string,
  ): Promise<{ fenced: FileWriter; first: Buffer; driver: SwiftDriver; gate: ReturnType<typeof gateSegments> }> {
    const driver = newDriver();
    const gate = gateSegments(driver);
    const fenced = await driver.writer(path, false);
    const first = bytes(MiB);
    await fenced.write(first);
    await fenced.write(bytes(MiB / 2)); // segment 1 goes out
    await fenced.write(bytes(MiB)); // segment 2 passes its check and waits at the gate
    await gate.sent();
    return { fenced, first, driver, gate };
  }

  async function expectFenced(writer: FileWriter, what: string): Promise<void> {
    await assert.rejects(writer.commit(), (err: unknown) => isUploadFenced(err), `${what}: commit`);
    await assert.rejects(writer.close(), (err: unknown) => isUploadFenced(err), `${what}: close`);
    await assert.rejects(writer.cancel(), (err: unknown) => isUploadFenced(err), `${what}: cancel`);
  }

  it('a late segment of the fenced writer is not part of the upload a newer writer resumed, and commit removes it', async () => {
    const path = `/fencing/resume-${++round}`;
    const { fenced, first, driver, gate } = await writerWithSegmentInFlight(path);
    const newer = await newDriver().writer(path, true);
    assert.equal(newer.size, MiB, 'the newer writer resumes the one stored segment');
    gate.open();
    await gate.landed();
    const marker = await swiftDriverInternals(driver).uploads.readMarker(path, {});
    const late = (await swiftDriverInternals(driver).largeObjects.listGeneration(path, marker!.generation, {})).filter((s) => s.index === 2);
    assert.equal(late.length, 1, "the fenced writer's segment 2 landed in the generation");

    const own = bytes(MiB + 7);
    await newer.write(own);
    await newer.commit();
    assert.ok(
      Buffer.concat([first, own]).equals(await driver.getContent(path)),
      "the commit holds the resumed segment and the newer writer's bytes, nothing of the late one",
    );
    await expectFenced(fenced, 'the fenced writer');
    assert.ok(Buffer.concat([first, own]).equals(await driver.getContent(path)), 'the fenced writer changed nothing');
    assert.deepEqual(await driver.leftovers('/fencing'), [], 'the late segment is gone');
    await driver.delete(path);
  });

  it('a late segment of a writer fenced by writer(path, false) is deleted by the fenced writer itself', async () => {
    const path = `/fencing/fresh-${++round}`;
    const { fenced, driver, gate } = await writerWithSegmentInFlight(path);
    const newer = await newDriver().writer(path, false);
    gate.open();
    await gate.landed();
    const before = await namesUnder(driver, driver.layout.generationsPrefix(path));
    assert.equal(before.length, 1, `only the late segment is stored, the discarded upload's others are gone (${before.join(', ')})`);

    await assert.rejects(fenced.write(bytes(MiB)), (err: unknown) => isUploadFenced(err), 'the next segment of the fenced writer');
    assert.deepEqual(await namesUnder(driver, driver.layout.generationsPrefix(path)), [], 'the fenced writer deleted its late segment');
    await expectFenced(fenced, 'the fenced writer');

    const own = bytes(1234);
    await newer.write(own);
    await newer.commit();
    assert.ok(own.equals(await driver.getContent(path)));
    assert.deepEqual(await driver.leftovers('/fencing'), []);
    await driver.delete(path);
  });

  it('after commit, a writer fenced before it cannot change the committed content', async () => {
    const path = `/fencing/committed-${++round}`;
    const { fenced, first, driver, gate } = await writerWithSegmentInFlight(path);
    const newer = await newDriver().writer(path, true);
    const own = bytes(2 * MiB + 3);
    await newer.write(own);
    await newer.commit();
    gate.open();
    await gate.landed();
    const expected = Buffer.concat([first, own]);
    await assert.rejects(fenced.write(bytes(MiB)), (err: unknown) => isUploadFenced(err));
    await expectFenced(fenced, 'the fenced writer');
    assert.ok(expected.equals(await driver.getContent(path)), 'the committed content is unchanged');
    assert.deepEqual(await driver.leftovers('/fencing'), [], 'the fenced writer removed its late segment, not the committed ones');
    await driver.delete(path);
  });

  it('resumes an upload whose marker predates writer sessions (version 1, bare segment names)', async () => {
    const driver = newDriver();
    const path = `/fencing/legacy-${++round}`;
    const generation = 'legacy0gen';
    const parts = [bytes(MiB), bytes(MiB)];
    for (const [i, part] of parts.entries()) await swiftDriverInternals(driver).container.put(driver.layout.segmentName(path, generation, i + 1), part, {});
    const marker = { version: 1, path, generation, startedAt: new Date().toISOString() };
    await swiftDriverInternals(driver).container.put(driver.layout.uploadMarker(path), Buffer.from(JSON.stringify(marker)), {});
    const writer = await driver.writer(path, true);
    assert.equal(writer.size, 2 * MiB);
    const tail = bytes(MiB / 2);
    await writer.write(tail);
    await writer.commit();
    assert.ok(Buffer.concat([...parts, tail]).equals(await driver.getContent(path)));
    assert.deepEqual(await driver.leftovers('/fencing'), []);
    await driver.delete(path);
  });
});
