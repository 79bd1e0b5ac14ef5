import assert from 'node:assert/strict';
import { SIGNATURE_VERSIONS, makeClient, rejection, uniqueBucket, useOssServer } from './helpers';

for (const version of SIGNATURE_VERSIONS) {
  describe(`oss server: buckets through ali-oss (${version})`, function () {
    this.timeout(30_000);
    const oss = useOssServer();

    it('PutBucket creates a bucket; creating it again is 409 BucketAlreadyExists', async () => {
      const bucket = uniqueBucket(`create-${version}`);
      const client = makeClient(oss.server(), { version, bucket });
      const created = await client.putBucket(bucket);
      assert.equal(created.bucket, bucket, 'Location: /bucket');
      const again = await rejection(client.putBucket(bucket));
      assert.equal(again.status, 409);
      assert.equal(again.code, 'BucketAlreadyExists');
    });

    it('requests to a bucket that does not exist are 404 NoSuchBucket', async () => {
      const client = makeClient(oss.server(), { version, bucket: uniqueBucket(`absent-${version}`) });
      for (const attempt of [client.put('k', Buffer.from('x')), client.get('k'), client.list({ 'max-keys': 10 }, {}), client.initMultipartUpload('k')]) {
        const err = await rejection(attempt);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'NoSuchBucket');
      }
    });

    it('GetBucketInfo and GetBucketLocation describe the bucket', async () => {
      const bucket = uniqueBucket(`info-${version}`);
      const client = makeClient(oss.server(), { version, bucket });
      await client.putBucket(bucket, { StorageClass: 'IA' } as never);
      const info = await client.getBucketInfo(bucket);
      const described = info.bucket as Record<string, unknown>;
      assert.equal(described.Name, bucket);
      assert.equal(described.Location, 'oss-cn-hangzhou');
      assert.equal(described.StorageClass, 'IA');
      assert.ok(!Number.isNaN(Date.parse(String(described.CreationDate))));
      const location = await client.getBucketLocation(bucket);
      assert.equal(location.location, 'oss-cn-hangzhou');
    });

    it('ListBuckets lists the buckets, with prefix and max-keys', async () => {
      const prefix = uniqueBucket(`lb-${version}`);
      const client = makeClient(oss.server(), { version });
      for (const suffix of ['a', 'b', 'c']) await client.putBucket(`${prefix}-${suffix}`);
      // ali-oss 6.23 returns { buckets, isTruncated, nextMarker } (its typings say an array).
      type Listing = { buckets: { name: string }[] | null; isTruncated: boolean; nextMarker: string | null };
      const all = (await client.listBuckets({ prefix })) as unknown as Listing;
      assert.deepEqual(
        all.buckets?.map((b) => b.name),
        [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`],
      );
      const page = (await client.listBuckets({ prefix, 'max-keys': 2 })) as unknown as Listing;
      assert.equal(page.buckets?.length, 2);
      assert.equal(page.isTruncated, true);
      assert.equal(page.nextMarker, `${prefix}-b`);
    });

    it('DeleteBucket refuses a bucket with objects or unfinished uploads (409 BucketNotEmpty), then deletes it', async () => {
      const bucket = uniqueBucket(`delete-${version}`);
      const client = makeClient(oss.server(), { version, bucket });
      await client.putBucket(bucket);
      await client.put('object', Buffer.from('x'));
      const withObject = await rejection(client.deleteBucket(bucket));
      assert.equal(withObject.status, 409);
      assert.equal(withObject.code, 'BucketNotEmpty');
      await client.delete('object');
      const { uploadId } = await client.initMultipartUpload('pending');
      assert.equal((await rejection(client.deleteBucket(bucket))).code, 'BucketNotEmpty');
      await client.abortMultipartUpload('pending', uploadId);
      const deleted = (await client.deleteBucket(bucket)) as unknown as { res: { status: number } };
      assert.equal(deleted.res.status, 204);
      assert.equal((await rejection(client.getBucketInfo(bucket))).code, 'NoSuchBucket');
      assert.equal((await rejection(client.deleteBucket(bucket))).code, 'NoSuchBucket');
    });

    it('DeleteMultipleObjects deletes up to 1000 keys, reporting each unless quiet', async () => {
      const bucket = uniqueBucket(`multi-${version}`);
      const client = makeClient(oss.server(), { version, bucket });
      await client.putBucket(bucket);
      const keys = ['m/1', 'm/2 with space', 'm/<&>', 'm/ü'];
      for (const key of keys) await client.put(key, Buffer.from(key));
      const verbose = await client.deleteMulti([...keys.slice(0, 3), 'm/never-existed']);
      assert.deepEqual(
        (verbose.deleted ?? []).map((d) => (d as unknown as { Key: string }).Key),
        ['m/1', 'm/2 with space', 'm/<&>', 'm/never-existed'],
      );
      const quiet = await client.deleteMulti(['m/ü'], { quiet: true });
      assert.deepEqual(quiet.deleted, []);
      const left = await client.list({ prefix: 'm/', 'max-keys': 10 }, {});
      assert.deepEqual(left.objects ?? [], []);
      const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Delete><Quiet>true</Quiet><Object><Key>m/1</Key></Object></Delete>';
      const withoutMd5 = await rejection(
        client.request({ method: 'POST', bucket, subres: { delete: '' }, mime: 'xml', content: Buffer.from(xml), disabledMD5: true, successStatuses: [200] }),
      );
      assert.equal(withoutMd5.status, 400, 'DeleteMultipleObjects requires Content-MD5');
      assert.equal(withoutMd5.code, 'InvalidArgument');
    });
  });
}

describe('oss server: bucket name rules', function () {
  this.timeout(30_000);
  const oss = useOssServer();

  it('invalid bucket names are 400 InvalidBucketName', async () => {
    const client = makeClient(oss.server(), { version: 'v1' });
    for (const name of ['ab', 'UPPER', '-leading', 'trailing-', 'under_score']) {
      const err = await rejection(client.request({ method: 'PUT', bucket: name, successStatuses: [200] }));
      assert.equal(err.status, 400, name);
      assert.equal(err.code, 'InvalidBucketName', name);
    }
  });
});
