import assert from 'node:assert/strict';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { MiB } from '@stowage/core';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { cephS3Bucket, cephSwiftContainer } from '../../helpers/ceph';
import { CROSS_PROCESS_UPLOAD, resumeCrossProcessUpload, stageCrossProcessUpload } from '../../helpers/child-process';
import { dropContainer, stageSegmentedCrossProcessUpload } from '../../helpers/swift-native';

/**
 * Resuming uploads against Ceph RGW: a separate Node process stages an upload and exits, this one
 * resumes it from what is stored in the cluster alone (as after a registry restart).
 */
describe('ceph rgw: resuming uploads a separate process staged', function () {
  describe('s3', function () {
    let options: S3DriverOptions;
    const drivers: S3Driver[] = [];

    before(async function () {
      options = await cephS3Bucket(this, 'resume');
    });

    after(async () => {
      if (drivers[0]) await drivers[0].client.send(new DeleteBucketCommand({ Bucket: options.bucket })).catch(() => undefined);
      for (const made of drivers) made.destroy();
    });

    it('resumes an upload a separate process wrote 7 MiB of in 3 chunks and closed; nothing is visible before commit', async () => {
      const { path } = CROSS_PROCESS_UPLOAD;
      await stageCrossProcessUpload(require.resolve('@stowage/s3'), 'S3Driver', options);

      const parent = new S3Driver(options);
      drivers.push(parent);
      await resumeCrossProcessUpload(parent);
      assert.equal((await parent.stat(path)).size, 11 * MiB + 5);
      assert.deepEqual(await parent.leftovers('/'), []);
      await parent.delete('/t');
      assert.deepEqual(await parent.leftovers('/'), []);
    });
  });

  describe('swift', function () {
    let options: SwiftDriverOptions;
    const drivers: SwiftDriver[] = [];

    before(async function () {
      // 2 MiB segments: the 3 MiB chunks straddle segment boundaries and close() leaves a short segment.
      const { service: _service, ...rest } = await cephSwiftContainer(this, 'resume', { chunkSize: 2 * MiB });
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
      // The file is an SLO of the upload's generation; RGW does not give manifests back, so the
      // check is the HEAD's generation and that nothing but the manifest's segments remains.
      const head = await swiftDriverInternals(parent).container.head(parent.layout.objectName(path), {});
      assert.ok(head?.slo, 'committed as an SLO');
      assert.equal(head.size, 11 * MiB + 5);
      assert.equal(head.generation, generation);
      assert.deepEqual(await parent.leftovers('/t'), []);
      assert.equal(await swiftDriverInternals(parent).uploads.readMarker(path, {}), undefined);
      // The walk reports the SLO's size, not the size of its manifest that RGW lists.
      const walked: Array<[string, number]> = [];
      await parent.walk('/', (info) => void walked.push([info.path, info.size]));
      assert.deepEqual(walked, [
        ['/t', 0],
        ['/t/blobs', 0],
        ['/t/blobs/resumed', 11 * MiB + 5],
      ]);
      // A move copies the segments into the destination's own generation (from the generation,
      // as RGW gives no manifest back), and delete takes the segments with the manifest.
      await parent.move(path, '/t/moved');
      assert.equal((await parent.stat('/t/moved')).size, 11 * MiB + 5);
      assert.deepEqual(await parent.leftovers('/t'), []);
      await parent.delete('/t');
      assert.deepEqual(await parent.leftovers('/'), []);
      const rest: string[] = [];
      for await (const object of swiftDriverInternals(parent).container.listAll('')) rest.push(object.name);
      assert.deepEqual(rest, [], 'nothing at all is left in the container');
    });
  });
});
