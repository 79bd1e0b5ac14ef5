import assert from 'node:assert/strict';
import { MiB, isStorageDriverError } from '@stowage/core';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { CROSS_PROCESS_UPLOAD, resumeCrossProcessUpload } from '../../helpers/child-process';
import { dropContainer, stageSegmentedCrossProcessUpload, swiftContainer } from '../../helpers/swift-native';

/** Resuming uploads: the upload's state is only what is stored in Swift (a marker and the segments). */
describe('swift: resuming uploads', function () {
  let options: SwiftDriverOptions;
  const drivers: SwiftDriver[] = [];

  before(async function () {
    // 2 MiB segments: the 3 MiB chunks straddle segment boundaries and close() leaves a short segment.
    const { service: _service, ...rest } = await swiftContainer(this, 'resume', { chunkSize: 2 * MiB });
    options = rest;
  });

  after(async () => {
    await Promise.all(drivers.map((d) => d.destroy()));
    if (options) await dropContainer(options);
  });

  it('resumes an upload a separate process wrote 7 MiB of in 3 chunks and closed; nothing is visible before commit', async () => {
    const { path } = CROSS_PROCESS_UPLOAD;
    const parent = new SwiftDriver(options);
    drivers.push(parent);
    const generation = await stageSegmentedCrossProcessUpload(parent, options);

    await resumeCrossProcessUpload(parent);
    assert.equal((await parent.stat(path)).size, 11 * MiB + 5);
    // The manifest owns exactly the upload's segments; no marker or stray segment is left.
    const manifest = await swiftDriverInternals(parent).container.readManifest(parent.layout.objectName(path), {});
    assert.ok(manifest.every((entry) => entry.path.startsWith(`/${options.container}/${parent.layout.generationDir(path, generation)}`)));
    assert.deepEqual(await parent.leftovers('/t'), []);
    assert.equal(await swiftDriverInternals(parent).uploads.readMarker(path, {}), undefined);
    await parent.delete('/t');
  });

  it('an unreadable upload marker is a typed error for append, and purgeUploads removes it', async () => {
    const driver = new SwiftDriver(options);
    drivers.push(driver);
    const path = '/t/broken';
    const markerName = driver.layout.uploadMarker(path);
    await swiftDriverInternals(driver).container.put(markerName, Buffer.from('not json'), {});
    await assert.rejects(driver.writer(path, true), (err: unknown) => isStorageDriverError(err) && err.path === path && /unreadable/.test(String(err)));
    assert.equal(await driver.purgeUploads(new Date(Date.now() + 60_000)), 0, 'not counted as an upload');
    assert.equal(await swiftDriverInternals(driver).container.head(markerName, {}), undefined, 'the marker is gone');
  });
});
