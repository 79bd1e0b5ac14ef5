import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MiB } from '@stowage/core';
import { makeClient, pattern, uniqueBucket, useOssServer, type Client } from './helpers';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('oss server: large objects are kept as received and streamed back', function () {
  this.timeout(120_000);
  const oss = useOssServer();
  let client: Client;
  let bucket: string;

  before(async () => {
    bucket = uniqueBucket('streaming');
    client = makeClient(oss.server(), { version: 'v4', bucket });
    await client.putBucket(bucket);
  });

  it('a 48 MiB streamed PutObject is stored as the chunks it arrived in, not one concatenated Buffer', async () => {
    const data = pattern(48 * MiB, 21);
    const pieces = Array.from({ length: 48 }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB));
    await client.putStream('large/streamed.bin', Readable.from(pieces));
    const stored = oss.server().store.buckets.get(bucket)!.get('large/streamed.bin')!;
    assert.equal(stored.size, data.length);
    assert.ok(stored.chunks.length > 1, 'several chunks');
    assert.ok(Math.max(...stored.chunks.map((c) => c.length)) < 16 * MiB, 'no chunk holds the whole object');
    const { stream } = await client.getStream('large/streamed.bin');
    const hash = createHash('sha256');
    for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
    assert.equal(hash.digest('hex'), sha(data));
  });

  it('a completed multipart object shares its parts Buffers; ranges across part boundaries read correctly', async () => {
    const parts = [pattern(5 * MiB, 1), pattern(5 * MiB, 2), pattern(MiB + 7, 3)];
    const { uploadId } = await client.initMultipartUpload('large/parts.bin');
    const done = [];
    for (const [i, part] of parts.entries())
      done.push({ number: i + 1, etag: (await client.uploadPart('large/parts.bin', uploadId, i + 1, part, 0, part.length)).etag });
    await client.completeMultipartUpload('large/parts.bin', uploadId, done);
    const whole = Buffer.concat(parts);
    const start = 5 * MiB - 10;
    const end = 10 * MiB + 10;
    const ranged = await client.get('large/parts.bin', { headers: { Range: `bytes=${start}-${end}` } });
    assert.equal(ranged.res.status, 206);
    assert.equal(sha(ranged.content), sha(whole.subarray(start, end + 1)));
    const reads = await Promise.all(Array.from({ length: 6 }, () => client.get('large/parts.bin')));
    for (const read of reads) assert.equal(sha(read.content), sha(whole));
  });
});
