import assert from 'node:assert/strict';
import { Semaphore, isPathNotFound } from '@stowage/core';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals, type SwiftDriverInternals } from '@stowage/swift/internal';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';
import { namesUnder, raw } from './helpers';

type SwiftRequest = Parameters<SwiftDriverInternals['client']['request']>[0];

/** Counts the driver's requests by kind (bulk-delete POSTs, single DELETEs), passing them on unchanged. */
function countRequests(driver: SwiftDriver): { bulkDeletes: number; singleDeletes: number } {
  const counts = { bulkDeletes: 0, singleDeletes: 0 };
  const send = swiftDriverInternals(driver).client.request.bind(swiftDriverInternals(driver).client);
  swiftDriverInternals(driver).client.request = (req: SwiftRequest) => {
    if (req.method === 'POST' && req.query && 'bulk-delete' in req.query) counts.bulkDeletes++;
    if (req.method === 'DELETE' && req.object !== undefined) counts.singleDeletes++;
    return send(req);
  };
  return counts;
}

/**
 * The bulk-delete test's size. The local Swift spends 12-20 ms on every name deleted (present or
 * not), so this test alone takes 30-55 s; the batching it checks is the same at 1500 names / 1000.
 */
const BULK_NAMES = 1500;
const BULK_LIMIT = 1000;

describe('swift: requests', function () {
  let options: SwiftDriverOptions;
  let driver: SwiftDriver;
  const others: SwiftDriver[] = [];

  before(async function () {
    options = await swiftContainer(this, 'requests');
    driver = new SwiftDriver(options);
    await swiftDriverInternals(driver).container.ensureExists({});
  });

  after(async () => {
    await Promise.all([driver, ...others].filter(Boolean).map((d) => d.destroy()));
    if (options) await dropContainer(options);
  });

  const another = () => {
    const created = new SwiftDriver(options);
    others.push(created);
    return created;
  };

  /** Creates empty objects, many at once. */
  async function putEmpty(target: SwiftDriver, names: string[]): Promise<void> {
    const slots = new Semaphore(32);
    await Promise.all(names.map((name) => slots.run(() => swiftDriverInternals(target).container.put(name, Buffer.alloc(0), {}))));
  }

  // Paths are [A-Za-z0-9._-], but the container layer takes any object name (a DLO's foreign
  // segment folder, a leftover of another tool) and must escape each one exactly.
  const ODD_NAMES = [
    'with space',
    'question?mark',
    'hash#tag',
    'percent%41',
    'percent%2F',
    'plus+sign',
    'ünïcødé/日本語/ß',
    'mix a+b%20c?d=e&f#g',
    'semi;colon',
    'tilde~quote\'"',
  ];

  it('raw object names with characters that need escaping round-trip exactly', async () => {
    const base = `${options.prefix}/odd/`;
    const names = ODD_NAMES.map((name) => `${base}${name}`);
    for (const name of names) await swiftDriverInternals(driver).container.put(name, Buffer.from(`content of ${name}`), {});
    for (const name of names) {
      assert.deepEqual(await swiftDriverInternals(driver).container.getBuffer(name, {}), Buffer.from(`content of ${name}`), `GET ${name}`);
      assert.equal((await swiftDriverInternals(driver).container.head(name, {}))?.size, Buffer.byteLength(`content of ${name}`), `HEAD ${name}`);
    }
    assert.deepEqual((await namesUnder(driver, base)).sort(), [...names].sort(), 'the listing shows the exact names');
    // A name that only looks escaped is a different object from its unescaped form.
    assert.equal(await swiftDriverInternals(driver).container.getBuffer(`${base}percentA`, {}), undefined);

    // Server-side copies name their source in a header: escaped too.
    const copies = `${options.prefix}/odd-copies/`;
    for (const name of ODD_NAMES) await swiftDriverInternals(driver).container.copy(`${copies}${name}`, `/${options.container}/${base}${name}`, {});
    for (const name of ODD_NAMES)
      assert.deepEqual(
        await swiftDriverInternals(driver).container.getBuffer(`${copies}${name}`, {}),
        Buffer.from(`content of ${base}${name}`),
        `copy of ${name}`,
      );

    // Bulk delete takes escaped names in its body; single deletes escape them in the URL.
    const bulk = another();
    const counts = countRequests(bulk);
    await swiftDriverInternals(bulk).container.deleteMany(names, {});
    assert.deepEqual(counts, { bulkDeletes: 1, singleDeletes: 0 }, 'the local Swift offers bulk delete: one request');
    assert.deepEqual(await namesUnder(driver, base), []);
    const single = another();
    // Bulk delete hidden from this instance only (see the fallback test below): one DELETE per name.
    swiftDriverInternals(single).client.info = async () => ({});
    await swiftDriverInternals(single).container.deleteMany(
      ODD_NAMES.map((name) => `${copies}${name}`),
      {},
    );
    assert.deepEqual(await namesUnder(driver, copies), []);
  });

  it(`deleteMany of ${BULK_NAMES} names: two bulk requests at ${BULK_LIMIT} a request, missing names are fine`, async () => {
    const base = `${options.prefix}/bulk/`;
    const names = Array.from({ length: BULK_NAMES }, (_, i) => `${base}${String(i).padStart(5, '0')}`);
    // The local Swift spends ~12 ms on each name, present or not; creating only every 5th name
    // keeps the test short while both batches still hold real objects (and missing ones).
    const written = names.filter((_, i) => i % 5 === 0);
    await putEmpty(driver, written);
    assert.equal((await namesUnder(driver, base)).length, written.length);
    const limited = another();
    // Only /info's answer is changed (the local Swift allows 10000 a request, which would make this one request).
    swiftDriverInternals(limited).client.info = async () => ({ bulk_delete: { max_deletes_per_request: BULK_LIMIT } });
    const counts = countRequests(limited);
    await swiftDriverInternals(limited).container.deleteMany(names, {});
    assert.equal(counts.bulkDeletes, Math.ceil(BULK_NAMES / BULK_LIMIT));
    assert.equal(counts.singleDeletes, 0);
    assert.deepEqual(await namesUnder(driver, base), []);
  });

  it('without bulk delete, deleteMany falls back to single deletes and still deletes everything', async () => {
    const base = `${options.prefix}/nobulk/`;
    const names = Array.from({ length: 100 }, (_, i) => `${base}${String(i).padStart(4, '0')}`);
    await putEmpty(driver, names);
    const noBulk = another();
    // This only hides the capability from this driver instance: the server is the real Swift,
    // which still has bulk delete; the driver must not use what /info does not offer.
    swiftDriverInternals(noBulk).client.info = async () => ({});
    const counts = countRequests(noBulk);
    await swiftDriverInternals(noBulk).container.deleteMany([...names, `${base}never-written`], {});
    assert.equal(counts.bulkDeletes, 0);
    assert.equal(counts.singleDeletes, 101);
    assert.deepEqual(await namesUnder(driver, base), []);
  });

  it('a missing object is PathNotFoundError for the path, from every operation', async () => {
    await driver.putContent('/present/file', Buffer.from('x'));
    const isMissing = (path: string) => (err: unknown) => isPathNotFound(err) && err.driverName === 'swift' && err.path === path;
    await assert.rejects(driver.getContent('/present/missing'), isMissing('/present/missing'));
    await assert.rejects(driver.reader('/present/missing'), isMissing('/present/missing'));
    await assert.rejects(driver.reader('/present/missing', 10), isMissing('/present/missing'));
    await assert.rejects(driver.stat('/absent/file'), isMissing('/absent/file'));
    await assert.rejects(driver.list('/absent'), isMissing('/absent'));
    await assert.rejects(driver.delete('/absent'), isMissing('/absent'));
    await assert.rejects(driver.move('/absent/file', '/present/other'), isMissing('/absent/file'));
    await assert.rejects(driver.writer('/absent/file', true), isMissing('/absent/file'));
    // The raw answer behind it really was Swift's 404.
    const answer = await raw(driver, { method: 'GET', container: options.container, object: driver.layout.objectName('/present/missing'), ok: [404] });
    assert.equal(answer.status, 404);
  });
});
