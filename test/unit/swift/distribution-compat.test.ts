import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KiB, MiB, isPathNotFound, type FileInfo } from '@stowage/core';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';
import { bytes, inTimeZone, namesUnder, raw, readStream } from './helpers';

// Objects laid out exactly as distribution's Go swift driver writes them, made with raw REST calls
// (never through our writer), then read, listed, walked, moved and deleted through our driver; and
// the other way round: what our driver writes, read the way distribution reads it (plain GETs).
describe("swift: compatibility with distribution's layout", function () {
  let options: SwiftDriverOptions;
  let driver: SwiftDriver;

  before(async function () {
    options = await swiftContainer(this, 'distcompat');
    driver = new SwiftDriver(options);
    // distribution creates the container at start-up; nothing of ours has run yet.
    await raw(driver, { method: 'PUT', container: options.container, ok: [201, 202] });
  });

  after(async () => {
    if (driver) await driver.destroy();
    if (options) await dropContainer(options);
  });

  /** distribution's object name for a path: `<prefix>/files<path>`. */
  const fileName = (path: string) => `${options.prefix}/files${path}`;

  async function putPlain(path: string, content: Buffer): Promise<void> {
    await raw(driver, {
      method: 'PUT',
      container: options.container,
      object: fileName(path),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(content.length) },
      body: content,
      ok: [201],
    });
  }

  /**
   * A Dynamic Large Object as distribution writes one: segments `<prefix>/segments/<3 hex>/<37 hex>/<16-digit n>`
   * (n from 1), then a 0-byte manifest at the file's name whose X-Object-Manifest names the segment folder.
   */
  async function putDlo(path: string, segments: Buffer[]): Promise<{ segmentDir: string }> {
    const hex = randomBytes(20).toString('hex');
    const segmentDir = `${options.prefix}/segments/${hex.slice(0, 3)}/${hex.slice(3)}`;
    for (let i = 0; i < segments.length; i++) {
      await raw(driver, {
        method: 'PUT',
        container: options.container,
        object: `${segmentDir}/${String(i + 1).padStart(16, '0')}`,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(segments[i]!.length) },
        body: segments[i]!,
        ok: [201],
      });
    }
    await raw(driver, {
      method: 'PUT',
      container: options.container,
      object: fileName(path),
      headers: { 'x-object-manifest': `${options.container}/${segmentDir}`, 'content-type': 'application/octet-stream', 'content-length': '0' },
      body: Buffer.alloc(0),
      ok: [201],
    });
    return { segmentDir };
  }

  const dloSegments = () => [bytes(1 * MiB), bytes(1 * MiB), bytes(300 * KiB)];

  const assertRecent = (time: Date, what: string) => {
    const skew = Math.abs(time.getTime() - Date.now());
    // A zone-less listing time read as local time would be off by the zone's offset (hours here).
    assert.ok(skew < 5000, `${what}: modTime ${time.toISOString()} is ${skew} ms from now`);
  };

  async function walkAll(path: string): Promise<FileInfo[]> {
    const seen: FileInfo[] = [];
    await driver.walk(path, (info) => {
      seen.push(info);
    });
    return seen;
  }

  it('names files as distribution does: <prefix>/files<path>', () => {
    assert.equal(driver.layout.objectName('/docker/registry/v2/blobs/x'), `${options.prefix}/files/docker/registry/v2/blobs/x`);
  });

  it('reads, stats, lists and walks a small file stored as a plain object', async () => {
    const content = bytes(10 * KiB);
    await putPlain('/plain/dir/small', content);
    assert.deepEqual(await driver.getContent('/plain/dir/small'), content);
    assert.equal((await driver.stat('/plain/dir/small')).size, content.length);
    assert.deepEqual(await driver.list('/plain/dir'), ['/plain/dir/small']);
    const walked = await walkAll('/plain');
    assert.deepEqual(
      walked.map((info) => [info.path, info.isDir, info.size]),
      [
        ['/plain/dir', true, 0],
        ['/plain/dir/small', false, content.length],
      ],
    );
  });

  it('a DLO: stat and walk give the real size and a UTC modTime, in a zone far from UTC too', async () => {
    const segments = dloSegments();
    const total = segments.reduce((sum, s) => sum + s.length, 0);
    await putPlain('/times/plain', bytes(100));
    await putDlo('/times/dlo', segments);
    // +05:45: a listing time parsed as local time would be 5 h 45 min off.
    await inTimeZone('Asia/Kathmandu', async () => {
      const stat = await driver.stat('/times/dlo');
      assert.equal(stat.isDir, false);
      assert.equal(stat.size, total, "stat of a DLO must report its segments' size, not the manifest's 0");
      assertRecent(stat.modTime, 'stat of the DLO');
      // A directory's time comes from the listing.
      assertRecent((await driver.stat('/times')).modTime, 'stat of a directory');
      const walked = new Map((await walkAll('/times')).map((info) => [info.path, info]));
      assert.equal(walked.get('/times/dlo')?.size, total, "walk must report the DLO's real size");
      assertRecent(walked.get('/times/dlo')!.modTime, 'walk of the DLO');
      assert.equal(walked.get('/times/plain')?.size, 100);
      assertRecent(walked.get('/times/plain')!.modTime, 'walk of a plain object (listing time)');
    });
  });

  it('a DLO reads whole, from an offset inside its second segment, and is listed', async () => {
    const segments = dloSegments();
    const content = Buffer.concat(segments);
    await putDlo('/read/big', segments);
    assert.deepEqual(await driver.getContent('/read/big'), content);
    assert.deepEqual(await readStream(await driver.reader('/read/big')), content);
    const offset = segments[0]!.length + 12_345;
    assert.deepEqual(await readStream(await driver.reader('/read/big', offset)), content.subarray(offset));
    // At the end, Swift answers the DLO's range with 416: an empty read, not an error.
    assert.equal((await readStream(await driver.reader('/read/big', content.length))).length, 0);
    assert.deepEqual(await driver.list('/read'), ['/read/big']);
  });

  it("moving a DLO makes the destination an SLO over segments of its own and deletes the DLO's segments", async () => {
    const segments = dloSegments();
    const content = Buffer.concat(segments);
    const { segmentDir } = await putDlo('/move/src', segments);
    await driver.move('/move/src', '/move/dest');

    assert.deepEqual(await driver.getContent('/move/dest'), content);
    const head = await swiftDriverInternals(driver).container.head(driver.layout.objectName('/move/dest'), {});
    assert.ok(head?.slo, 'the destination must be a Static Large Object');
    const manifest = await swiftDriverInternals(driver).container.readManifest(driver.layout.objectName('/move/dest'), {});
    assert.equal(manifest.length, segments.length);
    const own = `/${options.container}/${driver.layout.generationsPrefix('/move/dest')}`;
    for (const entry of manifest) assert.ok(entry.path.startsWith(own), `segment ${entry.path} is not under ${own}`);

    assert.deepEqual(await namesUnder(driver, `${segmentDir}/`), [], "the DLO's segments must be deleted with it");
    await assert.rejects(driver.stat('/move/src'), isPathNotFound);
    assert.deepEqual(await driver.leftovers('/move'), []);
  });

  it('appending to, overwriting or deleting a DLO deletes its segments and keeps the content right', async () => {
    const segments = dloSegments();
    const tail = bytes(200 * KiB);
    const appended = await putDlo('/change/appended', segments);
    const writer = await driver.writer('/change/appended', true);
    assert.equal(writer.size, Buffer.concat(segments).length, "an append resumes at the DLO's real size");
    await writer.write(tail);
    await writer.commit();
    assert.deepEqual(await driver.getContent('/change/appended'), Buffer.concat([...segments, tail]));
    assert.deepEqual(await namesUnder(driver, `${appended.segmentDir}/`), [], "the appended DLO's segments");

    const overwritten = await putDlo('/change/overwritten', dloSegments());
    const small = bytes(1 * KiB);
    await driver.putContent('/change/overwritten', small);
    assert.deepEqual(await driver.getContent('/change/overwritten'), small);
    assert.deepEqual(await namesUnder(driver, `${overwritten.segmentDir}/`), [], "the overwritten DLO's segments");

    const deleted = await putDlo('/change/deleted', dloSegments());
    await driver.delete('/change/deleted');
    await assert.rejects(driver.stat('/change/deleted'), isPathNotFound);
    assert.deepEqual(await namesUnder(driver, `${deleted.segmentDir}/`), [], "the deleted DLO's segments");
    assert.deepEqual(await driver.leftovers('/change'), []);
  });

  it('a DLO without segments yet (distribution puts the manifest first) is an empty file', async () => {
    await putDlo('/early/manifest-only', []);
    const stat = await driver.stat('/early/manifest-only');
    assert.deepEqual([stat.isDir, stat.size], [false, 0]);
    assert.equal((await driver.getContent('/early/manifest-only')).length, 0);
    assert.equal((await readStream(await driver.reader('/early/manifest-only'))).length, 0);
    assert.deepEqual(await driver.list('/early'), ['/early/manifest-only']);
  });

  it("deleting a directory holding a DLO deletes the DLO's segments too", async () => {
    const { segmentDir } = await putDlo('/deldir/sub/big', dloSegments());
    await putPlain('/deldir/small', bytes(50));
    await putPlain('/deldir-sibling', bytes(5));
    await driver.delete('/deldir');
    assert.deepEqual(await namesUnder(driver, `${segmentDir}/`), []);
    assert.deepEqual(await namesUnder(driver, `${fileName('/deldir')}/`), []);
    await assert.rejects(driver.stat('/deldir'), isPathNotFound);
    // `/deldir/` bounds the delete: a sibling sharing the name's start is kept.
    assert.equal((await driver.stat('/deldir-sibling')).size, 5);
  });

  it('what our driver writes reads back with plain GETs, and files/ lists only files', async () => {
    // Its own prefix, so the listing below holds nothing but what this test wrote.
    const ours = new SwiftDriver({ ...options, prefix: `${options.prefix}-ours` });
    try {
      const big = bytes(3.5 * MiB);
      const small = bytes(3 * KiB);
      const writer = await ours.writer('/repo/big');
      for (let at = 0; at < big.length; at += 700 * KiB) await writer.write(big.subarray(at, at + 700 * KiB));
      await writer.commit();
      await ours.putContent('/repo/small', small);
      // An unfinished upload leaves a marker and segments, but nothing under files/.
      const pending = await ours.writer('/repo/pending');
      await pending.write(bytes(1.5 * MiB));
      await pending.close();

      const head = await swiftDriverInternals(ours).container.head(`${options.prefix}-ours/files/repo/big`, {});
      assert.ok(head?.slo, '3.5 MiB in 1 MiB segments must be an SLO');
      for (const [path, content] of [
        ['/repo/big', big],
        ['/repo/small', small],
      ] as const) {
        const got = await raw(ours, { method: 'GET', container: options.container, object: `${options.prefix}-ours/files${path}`, ok: [200] });
        assert.equal(got.body.length, content.length, path);
        assert.ok(got.body.equals(content), `plain GET of ${path} returned different bytes`);
      }

      const listing = await raw(ours, {
        method: 'GET',
        container: options.container,
        query: { format: 'json', prefix: `${options.prefix}-ours/files/` },
        ok: [200],
      });
      const names = (JSON.parse(listing.body.toString('utf8')) as Array<{ name: string; bytes: number }>).map((entry) => [entry.name, entry.bytes]);
      assert.deepEqual(names, [
        [`${options.prefix}-ours/files/repo/big`, big.length],
        [`${options.prefix}-ours/files/repo/small`, small.length],
      ]);

      const resumed = await ours.writer('/repo/pending', true);
      await resumed.cancel();
      assert.deepEqual(await ours.leftovers('/'), []);
    } finally {
      await ours.destroy();
    }
  });
});
