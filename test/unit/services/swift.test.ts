import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ServiceUnavailableError, startSwift, type SwiftService } from '../../services/swift';

const MiB = 1024 * 1024;
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

describe('services: local Swift with s3api', function () {
  let swift: SwiftService;
  let s3: S3Client;
  const bucket = `stowage-swift-test-${randomBytes(4).toString('hex')}`;

  before(async function () {
    this.timeout(300_000); // a first start may apt-install the packages
    try {
      swift = await startSwift();
    } catch (err) {
      if (err instanceof ServiceUnavailableError) {
        console.log(`      skipping the Swift service tests: ${err.message}`);
        this.skip();
      }
      throw err;
    }
    s3 = new S3Client({
      endpoint: swift.endpoint,
      region: swift.region,
      forcePathStyle: true,
      credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  after(async function () {
    if (!s3) return;
    // Delete everything this suite created, unfinished uploads included, then the bucket.
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const upload of uploads.Uploads ?? []) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key!, UploadId: upload.UploadId! }));
    }
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const object of listing.Contents ?? []) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
  });

  it('logs in with tempauth and serves the account with the token', async () => {
    const login = await fetch(swift.authUrl, { headers: { 'X-Auth-User': swift.user, 'X-Auth-Key': swift.key } });
    assert.equal(login.status, 200);
    const token = login.headers.get('x-auth-token');
    const storageUrl = login.headers.get('x-storage-url');
    assert.match(token ?? '', /^AUTH_tk/);
    assert.equal(storageUrl, `${swift.endpoint}/v1/AUTH_test`);

    const account = await fetch(`${storageUrl}?format=json`, { headers: { 'X-Auth-Token': token! } });
    assert.equal(account.status, 200);
    const containers = (await account.json()) as Array<{ name: string }>;
    assert.ok(
      containers.some((container) => container.name === bucket),
      'the S3 bucket is a Swift container',
    );

    const denied = await fetch(storageUrl, { headers: { 'X-Auth-Token': 'AUTH_tk-not-a-token' } });
    assert.equal(denied.status, 401);
  });

  it('runs with the limits the drivers rely on (GET /info)', async () => {
    const response = await fetch(`${swift.endpoint}/info`);
    assert.equal(response.status, 200);
    const info = (await response.json()) as {
      slo?: { max_manifest_segments: number };
      s3api?: { max_upload_part_num: number; min_segment_size: number };
      tempurl?: object;
      bulk_delete?: object;
    };
    assert.equal(info.slo?.max_manifest_segments, 10000);
    assert.equal(info.s3api?.max_upload_part_num, 10000);
    assert.equal(info.s3api?.min_segment_size, 5 * MiB);
    assert.ok(info.tempurl && info.bulk_delete);
  });

  it('stores and returns an object over S3', async () => {
    const body = randomBytes(64 * 1024);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'put/get', Body: body }));
    assert.equal(put.ETag, `"${md5(body)}"`);

    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'put/get' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));

    const ranged = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'put/get', Range: 'bytes=10-19' }));
    assert.ok(Buffer.from(await ranged.Body!.transformToByteArray()).equals(body.subarray(10, 20)));
  });

  it('answers NoSuchKey / 404 for a missing key', async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'no/such/key' })), (err: unknown) => {
      assert.ok(err instanceof S3ServiceException);
      assert.equal(err.name, 'NoSuchKey');
      assert.equal(err.$metadata.httpStatusCode, 404);
      return true;
    });
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'no/such/key' })), (err: unknown) => {
      assert.ok(err instanceof S3ServiceException);
      assert.equal(err.$metadata.httpStatusCode, 404);
      return true;
    });
  });

  it('lists with ListObjectsV2 after StartAfter, by prefix and delimiter', async () => {
    for (const key of ['list/a/1', 'list/a/2', 'list/b/1', 'list/c']) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    }
    const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', StartAfter: 'list/a/1' }));
    assert.deepEqual(
      (after.Contents ?? []).map((object) => object.Key),
      ['list/a/2', 'list/b/1', 'list/c'],
    );

    const top = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', Delimiter: '/' }));
    assert.deepEqual(
      (top.CommonPrefixes ?? []).map((prefix) => prefix.Prefix),
      ['list/a/', 'list/b/'],
    );
    assert.deepEqual(
      (top.Contents ?? []).map((object) => object.Key),
      ['list/c'],
    );

    const paged = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', MaxKeys: 2 }));
    assert.equal(paged.IsTruncated, true);
    const rest = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', ContinuationToken: paged.NextContinuationToken }));
    assert.deepEqual(
      (rest.Contents ?? []).map((object) => object.Key),
      ['list/b/1', 'list/c'],
    );
  });

  it('completes a multipart upload of 2 x 5 MiB parts (one copied from a range) and a tail', async function () {
    this.timeout(120_000);
    const source = randomBytes(6 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'mpu/source', Body: source }));
    const first = randomBytes(5 * MiB);
    const tail = randomBytes(1000);
    const copiedRange = source.subarray(MiB, 6 * MiB); // bytes=1048576-6291455, 5 MiB

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu/blob' }));
    assert.ok(UploadId);
    const part1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu/blob', UploadId, PartNumber: 1, Body: first }));
    const part2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: 'mpu/blob',
        UploadId,
        PartNumber: 2,
        CopySource: `${bucket}/mpu/source`,
        CopySourceRange: `bytes=${MiB}-${6 * MiB - 1}`,
      }),
    );
    assert.equal(part2.CopyPartResult?.ETag, `"${md5(copiedRange)}"`);
    const part3 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu/blob', UploadId, PartNumber: 3, Body: tail }));
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mpu/blob',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: part1.ETag },
            { PartNumber: 2, ETag: part2.CopyPartResult.ETag },
            { PartNumber: 3, ETag: part3.ETag },
          ],
        },
      }),
    );
    assert.match(completed.ETag ?? '', /-3"$/);

    const expected = Buffer.concat([first, copiedRange, tail]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mpu/blob' }));
    assert.equal(head.ContentLength, expected.length);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mpu/blob' }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    assert.equal(md5(body), md5(expected));
  });

  it('rejects completing with a non-last part under 5 MiB (EntityTooSmall)', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu/small' }));
    const parts = [];
    for (const PartNumber of [1, 2]) {
      const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu/small', UploadId, PartNumber, Body: randomBytes(1024) }));
      parts.push({ PartNumber, ETag: part.ETag });
    }
    await assert.rejects(
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mpu/small', UploadId, MultipartUpload: { Parts: parts } })),
      (err: unknown) => err instanceof S3ServiceException && err.name === 'EntityTooSmall',
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mpu/small', UploadId }));
  });

  it('deletes a batch with DeleteObjects once the request carries Content-MD5', async () => {
    // s3api (Swift 2.30) requires Content-MD5 here; the SDK now sends a CRC32 checksum instead.
    const keys = ['batch/1', 'batch/2'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    const objects = [...keys, 'batch/missing'].map((Key) => ({ Key }));
    const batch = new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } });
    batch.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string>; body: string | Uint8Array };
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
        return next(args);
      },
      { step: 'build', name: 'contentMd5ForS3api' },
    );
    const result = await s3.send(batch);
    assert.deepEqual((result.Deleted ?? []).map((deleted) => deleted.Key).sort(), [...keys, 'batch/missing']);
    assert.equal(result.Errors, undefined);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'batch/' }));
    assert.equal(left.KeyCount, 0);
  });

  it('serves a presigned GET to a plain fetch', async () => {
    const body = Buffer.from('fetched through a presigned URL');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'presigned/object', Body: body }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned/object' }), {
      expiresIn: 300,
    });
    assert.ok(url.startsWith(`${swift.endpoint}/${bucket}/presigned/object?`), url);
    assert.match(url, /X-Amz-Signature=/);

    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(body));

    const tampered = await fetch(url.replace('presigned/object', 'presigned/other'));
    assert.equal(tampered.status, 403);
  });
});
