import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { KiB, MiB } from '@stowage/core';
import { SIGNATURE_VERSIONS, makeClient, pattern, rejection, uniqueBucket, useOssServer, type Client } from './helpers';

const md5 = (data: Buffer) => createHash('md5').update(data).digest();

/** OSS's multipart ETag: MD5 of the parts' binary MD5s, uppercase hex, dash, part count. */
function multipartEtag(parts: Buffer[]): string {
  const digest = createHash('md5');
  for (const part of parts) digest.update(md5(part));
  return `"${digest.digest('hex').toUpperCase()}-${parts.length}"`;
}

/** CompleteMultipartUpload with a hand-written parts list, signed by ali-oss itself. */
function completeWithXml(client: Client, bucket: string, name: string, uploadId: string, parts: { number: number; etag: string }[]) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>${parts
    .map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>${p.etag}</ETag></Part>`)
    .join('')}</CompleteMultipartUpload>`;
  return client.request({ method: 'POST', bucket, object: name, subres: { uploadId }, mime: 'xml', content: Buffer.from(xml), successStatuses: [200] });
}

for (const version of SIGNATURE_VERSIONS) {
  describe(`oss server: multipart uploads through ali-oss (${version})`, function () {
    this.timeout(60_000);
    const oss = useOssServer();
    let client: Client;
    let bucket: string;

    before(async () => {
      bucket = uniqueBucket(`multipart-${version}`);
      client = makeClient(oss.server(), { version, bucket });
      await client.putBucket(bucket);
    });

    async function upload(name: string, uploadId: string, number: number, data: Buffer) {
      return client.uploadPart(name, uploadId, number, data, 0, data.length);
    }

    it('Initiate, UploadPart (100 KiB parts and a small last one), Complete: content, multipart ETag, type and metadata', async () => {
      const parts = [pattern(100 * KiB, 1), pattern(100 * KiB, 2), pattern(10, 3)];
      const init = await client.initMultipartUpload('mpu/assembled.bin', { mime: 'application/x-assembled', meta: { stage: 'init' } } as never);
      assert.match(init.uploadId, /^[0-9A-F]{32}$/);
      const uploaded = [];
      for (const [i, data] of parts.entries()) {
        const result = await upload('mpu/assembled.bin', init.uploadId, i + 1, data);
        assert.equal(result.etag, `"${md5(data).toString('hex').toUpperCase()}"`);
        uploaded.push({ number: i + 1, etag: result.etag });
      }
      const done = await client.completeMultipartUpload('mpu/assembled.bin', init.uploadId, uploaded);
      assert.equal(done.etag, multipartEtag(parts));
      const got = await client.get('mpu/assembled.bin');
      assert.deepEqual(got.content, Buffer.concat(parts));
      const headers = got.res.headers as Record<string, string>;
      assert.equal(headers['x-oss-object-type'], 'Multipart');
      assert.equal(headers['content-type'], 'application/x-assembled');
      assert.equal(headers['x-oss-meta-stage'], 'init');
      assert.equal(headers.etag, multipartEtag(parts));
      const uploads = await client.listUploads({ prefix: 'mpu/assembled.bin' });
      assert.deepEqual(uploads.uploads, [], 'a completed upload is gone');
    });

    it('a non-final part under 100 KiB fails Complete with EntityTooSmall and leaves the upload in place', async () => {
      const { uploadId } = await client.initMultipartUpload('mpu/small.bin');
      const p1 = await upload('mpu/small.bin', uploadId, 1, pattern(100 * KiB - 1));
      const p2 = await upload('mpu/small.bin', uploadId, 2, pattern(5));
      const err = await rejection(
        client.completeMultipartUpload('mpu/small.bin', uploadId, [
          { number: 1, etag: p1.etag },
          { number: 2, etag: p2.etag },
        ]),
      );
      assert.equal(err.status, 400);
      assert.equal(err.code, 'EntityTooSmall');
      const parts = await client.listParts('mpu/small.bin', uploadId, {} as never);
      assert.equal(parts.parts.length, 2);
      assert.equal((await rejection(client.head('mpu/small.bin'))).status, 404);
      await client.abortMultipartUpload('mpu/small.bin', uploadId);
    });

    it('a single part of any size completes', async () => {
      const { uploadId } = await client.initMultipartUpload('mpu/one.bin');
      const p1 = await upload('mpu/one.bin', uploadId, 1, Buffer.from('tiny'));
      await client.completeMultipartUpload('mpu/one.bin', uploadId, [{ number: 1, etag: p1.etag }]);
      assert.equal((await client.get('mpu/one.bin')).content.toString(), 'tiny');
    });

    it('a wrong ETag or an unknown part is InvalidPart; parts out of order or repeated are InvalidPartOrder', async () => {
      const { uploadId } = await client.initMultipartUpload('mpu/invalid.bin');
      const p1 = await upload('mpu/invalid.bin', uploadId, 1, pattern(100 * KiB, 4));
      const p2 = await upload('mpu/invalid.bin', uploadId, 2, pattern(10, 5));
      const wrongEtag = await rejection(
        client.completeMultipartUpload('mpu/invalid.bin', uploadId, [{ number: 1, etag: '"00000000000000000000000000000000"' }]),
      );
      assert.equal(wrongEtag.code, 'InvalidPart');
      const unknown = await rejection(client.completeMultipartUpload('mpu/invalid.bin', uploadId, [{ number: 3, etag: p2.etag }]));
      assert.equal(unknown.code, 'InvalidPart');
      const reversed = await rejection(
        completeWithXml(client, bucket, 'mpu/invalid.bin', uploadId, [
          { number: 2, etag: p2.etag },
          { number: 1, etag: p1.etag },
        ]),
      );
      assert.equal(reversed.status, 400);
      assert.equal(reversed.code, 'InvalidPartOrder');
      const repeated = await rejection(
        completeWithXml(client, bucket, 'mpu/invalid.bin', uploadId, [
          { number: 1, etag: p1.etag },
          { number: 1, etag: p1.etag },
        ]),
      );
      assert.equal(repeated.code, 'InvalidPartOrder');
      const malformed = await rejection(
        client.request({
          method: 'POST',
          bucket,
          object: 'mpu/invalid.bin',
          subres: { uploadId },
          mime: 'xml',
          content: Buffer.from('<Complete'),
          successStatuses: [200],
        }),
      );
      assert.equal(malformed.code, 'MalformedXML');
      // ETags are accepted without quotes and in lowercase, as OSS compares them.
      await completeWithXml(client, bucket, 'mpu/invalid.bin', uploadId, [
        { number: 1, etag: p1.etag.replace(/"/g, '').toLowerCase() },
        { number: 2, etag: p2.etag },
      ]);
      assert.equal((await client.head('mpu/invalid.bin')).status, 200);
    });

    it('part numbers must be 1-10000 (InvalidArgument); 10000 is accepted', async () => {
      const { uploadId } = await client.initMultipartUpload('mpu/numbers.bin');
      for (const number of [0, 10001]) {
        const err = await rejection(upload('mpu/numbers.bin', uploadId, number, Buffer.from('x')));
        assert.equal(err.status, 400, `part ${number}`);
        assert.equal(err.code, 'InvalidArgument', `part ${number}`);
      }
      await upload('mpu/numbers.bin', uploadId, 10000, Buffer.from('last'));
      await client.abortMultipartUpload('mpu/numbers.bin', uploadId);
    });

    it('an unknown or aborted upload is NoSuchUpload for UploadPart, Complete, ListParts and Abort', async () => {
      const unknown = await rejection(upload('mpu/none.bin', '0123456789ABCDEF0123456789ABCDEF', 1, Buffer.from('x')));
      assert.equal(unknown.status, 404);
      assert.equal(unknown.code, 'NoSuchUpload');
      const { uploadId } = await client.initMultipartUpload('mpu/aborted.bin');
      const part = await upload('mpu/aborted.bin', uploadId, 1, Buffer.from('x'));
      await client.abortMultipartUpload('mpu/aborted.bin', uploadId);
      assert.equal((await rejection(client.completeMultipartUpload('mpu/aborted.bin', uploadId, [{ number: 1, etag: part.etag }]))).code, 'NoSuchUpload');
      assert.equal((await rejection(client.listParts('mpu/aborted.bin', uploadId, {} as never))).code, 'NoSuchUpload');
      assert.equal((await rejection(client.abortMultipartUpload('mpu/aborted.bin', uploadId))).code, 'NoSuchUpload');
      const otherKey = await client.initMultipartUpload('mpu/key-a.bin');
      assert.equal((await rejection(upload('mpu/key-b.bin', otherKey.uploadId, 1, Buffer.from('x')))).code, 'NoSuchUpload', 'an upload ID belongs to its key');
      await client.abortMultipartUpload('mpu/key-a.bin', otherKey.uploadId);
    });

    it('ListParts pages with max-parts and part-number-marker; re-uploading a part replaces it', async () => {
      const { uploadId } = await client.initMultipartUpload('mpu/listed.bin');
      for (const number of [3, 1, 5, 2, 4]) await upload('mpu/listed.bin', uploadId, number, pattern(number * 10, number));
      await upload('mpu/listed.bin', uploadId, 2, pattern(7, 99));
      // ali-oss hands back the XML's strings as they are (its typings say otherwise).
      type RawPart = { PartNumber: string; Size: string; ETag: string };
      const first = await client.listParts('mpu/listed.bin', uploadId, { 'max-parts': 2 } as never);
      const firstParts = first.parts as unknown as RawPart[];
      assert.deepEqual(
        firstParts.map((p) => Number(p.PartNumber)),
        [1, 2],
      );
      assert.equal(first.isTruncated, 'true');
      assert.equal(firstParts[1]!.Size, '7');
      assert.equal(firstParts[1]!.ETag, `"${md5(pattern(7, 99)).toString('hex').toUpperCase()}"`);
      const rest = await client.listParts('mpu/listed.bin', uploadId, { 'max-parts': 10, 'part-number-marker': first.nextPartNumberMarker } as never);
      assert.deepEqual(
        (rest.parts as unknown as RawPart[]).map((p) => Number(p.PartNumber)),
        [3, 4, 5],
      );
      assert.equal(rest.isTruncated, 'false');
      await client.abortMultipartUpload('mpu/listed.bin', uploadId);
    });

    it('ListMultipartUploads filters by prefix, groups by delimiter and pages with key and upload-id markers', async () => {
      const ids: Record<string, string> = {};
      for (const key of ['up/a', 'up/b', 'up/b', 'up/dir/c', 'up/dir/d']) {
        const { uploadId } = await client.initMultipartUpload(key);
        ids[`${key}#${Object.keys(ids).filter((k) => k.startsWith(`${key}#`)).length}`] = uploadId;
      }
      const grouped = await client.listUploads({ prefix: 'up/', delimiter: '/' } as never);
      assert.deepEqual(
        grouped.uploads.map((u) => u.name),
        ['up/a', 'up/b', 'up/b'],
      );
      const seen: string[] = [];
      let marker: { 'key-marker'?: string; 'upload-id-marker'?: string } = {};
      for (let page = 0; page < 10; page++) {
        const result = await client.listUploads({ prefix: 'up/', 'max-uploads': 2, ...marker });
        seen.push(...result.uploads.map((u) => `${u.name}:${u.uploadId}`));
        if (!result.isTruncated) break;
        marker = { 'key-marker': result.nextKeyMarker, 'upload-id-marker': result.nextUploadIdMarker };
      }
      assert.equal(seen.length, 5);
      assert.equal(new Set(seen).size, 5, 'no upload listed twice');
      assert.deepEqual(
        seen.map((s) => s.split(':')[0]),
        ['up/a', 'up/b', 'up/b', 'up/dir/c', 'up/dir/d'],
      );
      for (const entry of seen) {
        const [key, id] = entry.split(':') as [string, string];
        await client.abortMultipartUpload(key, id);
      }
    });

    it('UploadPartCopy copies a byte range (x-oss-copy-source-range) or the whole source', async () => {
      const source = pattern(300 * KiB, 7);
      await client.put('copy/source.bin', source);
      const { uploadId } = await client.initMultipartUpload('copy/assembled.bin');
      const p1 = await client.uploadPartCopy(
        'copy/assembled.bin',
        uploadId,
        1,
        `${100 * KiB}-${200 * KiB - 1}`,
        { sourceKey: 'copy/source.bin', sourceBucketName: bucket },
        {},
      );
      const p2 = await client.uploadPartCopy('copy/assembled.bin', uploadId, 2, '', { sourceKey: 'copy/source.bin', sourceBucketName: bucket }, {});
      const expected1 = source.subarray(100 * KiB, 200 * KiB);
      assert.equal(p1.etag, `"${md5(expected1).toString('hex').toUpperCase()}"`);
      await client.completeMultipartUpload('copy/assembled.bin', uploadId, [
        { number: 1, etag: p1.etag },
        { number: 2, etag: p2.etag },
      ]);
      assert.deepEqual((await client.get('copy/assembled.bin')).content, Buffer.concat([expected1, source]));
    });

    it('UploadPartCopy refuses a range outside the source and an Appendable source (InvalidArgument)', async () => {
      await client.put('copy/short.bin', pattern(10));
      await client.append('copy/appendable.bin', pattern(10));
      const { uploadId } = await client.initMultipartUpload('copy/refused.bin');
      const outside = await rejection(
        client.uploadPartCopy('copy/refused.bin', uploadId, 1, '5-10', { sourceKey: 'copy/short.bin', sourceBucketName: bucket }, {}),
      );
      assert.equal(outside.code, 'InvalidArgument');
      const appendable = await rejection(
        client.uploadPartCopy('copy/refused.bin', uploadId, 1, '', { sourceKey: 'copy/appendable.bin', sourceBucketName: bucket }, {}),
      );
      assert.equal(appendable.code, 'InvalidArgument');
      const missing = await rejection(client.uploadPartCopy('copy/refused.bin', uploadId, 1, '', { sourceKey: 'copy/none.bin', sourceBucketName: bucket }, {}));
      assert.equal(missing.code, 'NoSuchKey');
      await client.abortMultipartUpload('copy/refused.bin', uploadId);
    });

    it('x-oss-complete-all: yes completes with every uploaded part, in part-number order', async () => {
      const { uploadId } = await client.initMultipartUpload('mpu/all.bin');
      const first = pattern(100 * KiB, 11);
      await upload('mpu/all.bin', uploadId, 2, Buffer.from('tail'));
      await upload('mpu/all.bin', uploadId, 1, first);
      await client.request({
        method: 'POST',
        bucket,
        object: 'mpu/all.bin',
        subres: { uploadId },
        headers: { 'x-oss-complete-all': 'yes' },
        successStatuses: [200],
      });
      assert.deepEqual((await client.get('mpu/all.bin')).content, Buffer.concat([first, Buffer.from('tail')]));
    });

    it('UploadPart verifies Content-MD5', async () => {
      const { uploadId } = await client.initMultipartUpload('mpu/md5.bin');
      const data = Buffer.from('part body');
      const err = await rejection(
        client.uploadPart('mpu/md5.bin', uploadId, 1, data, 0, data.length, {
          headers: { 'Content-MD5': md5(Buffer.from('other')).toString('base64') },
        } as never),
      );
      assert.equal(err.code, 'InvalidDigest');
      await client.abortMultipartUpload('mpu/md5.bin', uploadId);
    });

    it("ali-oss's multipartUpload (parallel parts) stores the file", async () => {
      const data = pattern(3 * MiB + 123, 12);
      const result = await client.multipartUpload('mpu/managed.bin', data, { partSize: 256 * KiB, parallel: 4 });
      assert.equal(result.res.status, 200);
      assert.deepEqual((await client.get('mpu/managed.bin')).content, data);
    });
  });
}
