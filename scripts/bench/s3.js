'use strict';
/**
 * Bench setup for --driver s3: the S3 driver and plain SDK calls (lib-storage Upload for streams,
 * PutObject/GetObject, ListObjectsV2, DeleteObjects) against the same local Swift s3api, in the
 * same bucket under different prefixes. Starts Swift itself (test/services/swift) unless
 * STOWAGE_S3_ENDPOINT points elsewhere (then STOWAGE_S3_BUCKET, region and keys come from the
 * environment as for the s3-env conformance suite).
 */
const { randomBytes } = require('node:crypto');
const { Readable } = require('node:stream');
const {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} = require('@aws-sdk/client-s3');
const { Upload } = require('@aws-sdk/lib-storage');
const bench = require('@stowage/conformance/bench');
const { deleteUnder } = require('./_baseline');
const { S3Driver, DEFAULT_MULTIPART_CONCURRENCY } = require('@stowage/s3');

const MiB = 1024 * 1024;

/** The value of environment variable `name`; throws when it is unset or empty. */
function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required when STOWAGE_S3_ENDPOINT or STOWAGE_S3_BUCKET is set`);
  return value;
}

async function endpointOptions() {
  if (process.env.STOWAGE_S3_ENDPOINT || process.env.STOWAGE_S3_BUCKET) {
    return {
      options: {
        bucket: requiredEnv('STOWAGE_S3_BUCKET'),
        region: process.env.STOWAGE_S3_REGION || 'us-east-1',
        regionEndpoint: process.env.STOWAGE_S3_ENDPOINT || undefined,
        forcePathStyle: process.env.STOWAGE_S3_FORCE_PATH_STYLE === 'true',
        accessKey: process.env.AWS_ACCESS_KEY_ID,
        secretKey: process.env.AWS_SECRET_ACCESS_KEY,
      },
      createBucket: false,
      describe: `S3 endpoint ${process.env.STOWAGE_S3_ENDPOINT || 'AWS'}`,
    };
  }
  const { startSwift } = require('../../build/test/services/swift');
  const swift = await startSwift();
  return {
    options: {
      bucket: `stowage-bench-${randomBytes(4).toString('hex')}`,
      region: swift.region,
      regionEndpoint: swift.endpoint,
      forcePathStyle: true,
      accessKey: swift.accessKeyId,
      secretKey: swift.secretAccessKey,
    },
    createBucket: true,
    describe: `local Swift s3api at ${swift.endpoint}`,
  };
}

/** Plain SDK calls doing what the driver does, with the same part size and parallelism. */
function sdkBaseline(client, bucket, prefix, partSize, queueSize) {
  const key = (k) => `${prefix}${k}`;
  async function* keysUnder(p) {
    let token;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: p, ContinuationToken: token }));
      for (const o of page.Contents ?? []) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return {
    name: 'aws-sdk (lib-storage Upload / GetObject)',
    put: async (k, content) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key(k), Body: content, ContentLength: content.length }));
    },
    get: async (k) => {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(k) }));
      return out.Body.transformToByteArray();
    },
    streamWrite: async (k, chunks) => {
      await new Upload({ client, params: { Bucket: bucket, Key: key(k), Body: Readable.from(chunks) }, partSize, queueSize }).done();
    },
    streamRead: async (k) => (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(k) }))).Body,
    list: async (dir) => {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key(`${dir}/`), Delimiter: '/' }));
      const names = [...(page.Contents ?? []).map((o) => o.Key), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix.slice(0, -1))];
      return names.map((n) => n.slice(prefix.length)).sort();
    },
    delete: (k) =>
      deleteUnder(keysUnder(key(k)), key(k), (batch) =>
        client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      ),
  };
}

async function setUp() {
  const endpoint = await endpointOptions();
  const run = randomBytes(4).toString('hex');
  const driver = new S3Driver({ ...endpoint.options, rootDirectory: `/bench-${run}/driver` });
  if (endpoint.createBucket) await driver.client.send(new CreateBucketCommand({ Bucket: driver.bucket }));
  const concurrency = DEFAULT_MULTIPART_CONCURRENCY;
  return {
    driver,
    // Keys below /bench-<run>/baseline; the baseline uses the driver's client (same sockets, same signing).
    baseline: sdkBaseline(driver.client, driver.bucket, `bench-${run}/baseline`, driver.chunkSize, concurrency),
    contentInProcess: false,
    targets: bench.CLOUD_TARGETS,
    // The writer's bound: chunksize x (multipartconcurrency + 1) of part buffers, plus 24 MiB for
    // the SDK's code, sockets and request objects (lib-storage's own Upload peaks higher).
    memoryLimit: driver.chunkSize * (concurrency + 1) + 24 * MiB,
    describe: `${endpoint.describe}, bucket ${driver.bucket}, chunksize ${driver.chunkSize / MiB} MiB, ${concurrency} parts in flight`,
    async tearDown() {
      if (endpoint.createBucket) await driver.client.send(new DeleteBucketCommand({ Bucket: driver.bucket })).catch(() => undefined);
      driver.destroy();
    },
  };
}

module.exports = { setUp };
