import assert from 'node:assert/strict';
import { DeleteBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MiB, isPathNotFound, readAll, type UploadState } from '@stowage/core';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { pattern, resumeCrossProcessUpload, sha256, stageCrossProcessUpload } from '../../helpers/child-process';
import { swiftS3Bucket } from '../../helpers/swift-s3';

/** S3-specific behaviour, against the local Swift s3api (the conformance suite covers the contract). */
describe('s3: against Swift s3api', function () {
  let options: S3DriverOptions;
  const drivers: S3Driver[] = [];
  const driver = (extra: Partial<S3DriverOptions> = {}) => {
    const made = new S3Driver({ ...options, ...extra });
    drivers.push(made);
    return made;
  };

  before(async function () {
    options = await swiftS3Bucket(this, 'unit');
  });

  afterEach(async () => {
    if (drivers[0]) await drivers[0].delete('/t').catch((err) => (isPathNotFound(err) ? undefined : Promise.reject(err)));
  });

  after(async () => {
    if (drivers[0]) await drivers[0].client.send(new DeleteBucketCommand({ Bucket: options.bucket })).catch(() => undefined);
    for (const made of drivers) made.destroy();
  });

  it('resumes an upload a separate process wrote 7 MiB of in 3 chunks and closed; nothing is visible before commit', async () => {
    await stageCrossProcessUpload(require.resolve('@stowage/s3'), 'S3Driver', options);

    const parent = driver();
    await resumeCrossProcessUpload(parent);
    assert.deepEqual(await parent.leftovers('/'), []);
  });

  it('keeps all parts but the last at exactly chunksize, across sessions with odd chunk sizes', async () => {
    const d = driver();
    const path = '/t/parts';
    let writer = await d.writer(path, false);
    await writer.write(pattern('parts', 0, 3 * MiB + 1));
    await writer.write(pattern('parts', 3 * MiB + 1, 4 * MiB + 3));
    await writer.close();
    writer = await d.writer(path, true);
    await writer.write(pattern('parts', 7 * MiB + 4, 6 * MiB));
    await writer.close();
    const raw = await d.client.send(new GetObjectCommand({ Bucket: options.bucket, Key: d.layout.uploadStateKey(path) }));
    const state = JSON.parse(Buffer.from(await readAll(raw.Body as AsyncIterable<Uint8Array>)).toString()) as UploadState;
    assert.deepEqual(
      state.parts.map((p) => p.size),
      [5 * MiB, 5 * MiB],
    );
    assert.equal(state.tail?.size, 13 * MiB + 4 - 10 * MiB);
    writer = await d.writer(path, true);
    await writer.commit();
    const head = await d.client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: d.layout.key(path) }));
    assert.match(head.ETag ?? '', /-3"$/, 'completed as a 3-part multipart upload');
    assert.equal(sha256(await d.getContent(path)), sha256(pattern('parts', 0, 13 * MiB + 4)));
  });

  it("reads what distribution's s3-aws driver wrote, and writes where it reads", async () => {
    const d = driver();
    const key = `${options.rootDirectory!.slice(1)}/t/docker/registry/v2/blobs/sha256/ab/abcd/data`;
    await d.client.send(new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: 'layer' }));
    assert.equal((await d.getContent('/t/docker/registry/v2/blobs/sha256/ab/abcd/data')).toString(), 'layer');
    await d.putContent('/t/docker/registry/v2/repositories/r/_manifests/tags/v1/current/link', Buffer.from('sha256:abcd'));
    const raw = await d.client.send(
      new GetObjectCommand({
        Bucket: options.bucket,
        Key: `${options.rootDirectory!.slice(1)}/t/docker/registry/v2/repositories/r/_manifests/tags/v1/current/link`,
      }),
    );
    assert.equal(Buffer.from(await readAll(raw.Body as AsyncIterable<Uint8Array>)).toString(), 'sha256:abcd');
  });

  it('moves content above multipartcopythresholdsize with UploadPartCopy', async () => {
    const d = driver({ multipartCopyThresholdSize: 5 * MiB, multipartCopyChunkSize: 5 * MiB });
    const content = pattern('move', 0, 12 * MiB + 7);
    await d.putContent('/t/move/src', content);
    await d.move('/t/move/src', '/t/move/dst');
    await assert.rejects(d.stat('/t/move/src'), isPathNotFound);
    const head = await d.client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: d.layout.key('/t/move/dst') }));
    assert.match(head.ETag ?? '', /-3"$/, 'copied as 3 parts');
    assert.equal(sha256(await d.getContent('/t/move/dst')), sha256(content));
  });

  it('purgeUploads removes stale staged uploads (state, tail and multipart upload) and keeps fresh ones', async () => {
    const d = driver();
    for (const name of ['a', 'b']) {
      const writer = await d.writer(`/t/purge/${name}`, false);
      await writer.write(pattern(name, 0, 6 * MiB));
      await writer.close();
    }
    assert.equal(await d.purgeUploads(new Date(Date.now() - 3600_000)), 0, 'nothing is an hour old');
    assert.equal((await d.leftovers('/t/purge')).length, 4, 'two states and two tails');
    assert.equal(await d.purgeUploads(new Date(Date.now() + 60_000)), 2);
    assert.deepEqual(await d.leftovers('/t/purge'), []);
    await assert.rejects(d.writer('/t/purge/a', true), isPathNotFound);
  });
});
