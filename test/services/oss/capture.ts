/**
 * Captures the raw HTTP requests the real ali-oss client sends, for the server's replay tests.
 *
 *   node build/test/services/oss/capture.js [OUT_DIR]
 *
 * Runs a local OSS server behind a recording proxy, drives ali-oss (V1 and V4 signatures, path-style and
 * virtual-hosted, signed URLs) through every operation the server implements, and writes one JSON fixture
 * per signature version (default OUT_DIR: test/unit/services/oss-server/fixtures). Upload IDs come from a
 * fixed seed so a fresh server given the same seed accepts the requests again in the same order.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest, createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import OSS from 'ali-oss';
import { startOssServer } from './server';

const FIXTURE_UPLOAD_ID_SEED = 'stowage-oss-capture';
/** Bodies up to this size are stored in the fixture as base64; bigger ones are regenerated from a seed. */
const INLINE_BODY_LIMIT = 8 * 1024;

/** Deterministic bytes for fixture bodies: the same (seed, length) always gives the same content. */
function fixtureBytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}

export type FixtureBody = { base64: string } | { generated: { seed: number; length: number } };

export interface CapturedRequest {
  /** What the client was doing, for test titles. */
  name: string;
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  /** Header name/value pairs exactly as received (names in the client's case, in order). */
  rawHeaders: string[];
  body?: FixtureBody;
  bodySha256: string;
  /** Server clock when the request arrived (ms since the epoch); replays set the clock to it. */
  receivedAt: number;
  response: { status: number; etag?: string; errorCode?: string };
}

export interface Fixture {
  generator: string;
  client: string;
  signatureVersion: 'v1' | 'v4';
  accessKeyId: string;
  accessKeySecret: string;
  region: string;
  uploadIdSeed: string;
  requests: CapturedRequest[];
}

/** Turns a fixture body back into bytes. */
export function fixtureBodyBytes(body: FixtureBody | undefined): Buffer {
  if (!body) return Buffer.alloc(0);
  if ('base64' in body) return Buffer.from(body.base64, 'base64');
  return fixtureBytes(body.generated.seed, body.generated.length);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface Recorder {
  port: number;
  records: CapturedRequest[];
  label: string;
  close(): Promise<void>;
}

/** A proxy that records each request (and the status it got) and forwards it to the OSS server. */
async function startRecorder(targetPort: number, generated: Map<string, { seed: number; length: number }>): Promise<Recorder> {
  const recorder = { records: [] as CapturedRequest[], label: '' } as Recorder;
  const server = createServer((req, res) => {
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const digest = sha256(body);
      let fixtureBody: FixtureBody | undefined;
      if (body.length > INLINE_BODY_LIMIT) {
        const spec = generated.get(digest);
        if (!spec) throw new Error(`capture: a ${body.length}-byte body was not made by fixtureBytes()`);
        fixtureBody = { generated: spec };
      } else if (body.length > 0) {
        fixtureBody = { base64: body.toString('base64') };
      }
      const record: CapturedRequest = {
        name: recorder.label,
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        rawHeaders: req.rawHeaders,
        ...(fixtureBody ? { body: fixtureBody } : {}),
        bodySha256: digest,
        receivedAt,
        response: { status: 0 },
      };
      recorder.records.push(record);
      const headers: IncomingHttpHeaders = { ...req.headers };
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
      const upstream = httpRequest({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers }, (answer) => {
        const answerChunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
        answer.on('end', () => {
          const answerBody = Buffer.concat(answerChunks);
          record.response.status = answer.statusCode ?? 0;
          if (typeof answer.headers.etag === 'string') record.response.etag = answer.headers.etag;
          const code = /<Code>([^<]+)<\/Code>/.exec(answerBody.toString('utf8'));
          if (code && (answer.statusCode ?? 0) >= 300) record.response.errorCode = code[1];
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          res.end(answerBody);
        });
      });
      upstream.on('error', (err) => res.destroy(err));
      upstream.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  recorder.port = (server.address() as AddressInfo).port;
  recorder.close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  return recorder;
}

function plainRequest(url: string, method: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = httpRequest(url, { method }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('error', fail);
    req.end();
  });
}

/** Every operation the server implements, through ali-oss, with `label` naming each request. */
async function scenario(client: OSS, virtualHosted: OSS, bucket: string, v4: boolean, recorder: Recorder, bytes: (seed: number, length: number) => Buffer) {
  const step = async <T>(label: string, run: () => Promise<T>): Promise<T | undefined> => {
    recorder.label = label;
    try {
      return await run();
    } catch (err) {
      const code = (err as { code?: string }).code;
      process.stdout.write(`  ${label}: ${code ?? String(err)} (expected failure recorded)\n`);
      return undefined;
    }
  };
  await step('PutBucket', () => client.putBucket(bucket));
  await step('GetBucketInfo', () => client.getBucketInfo(bucket));
  await step('GetBucketLocation', () => client.getBucketLocation(bucket));
  await step('ListBuckets', () => client.listBuckets({}));
  await step('PutObject with metadata', () =>
    client.put('docs/readme.txt', bytes(1, 2000), { meta: { owner: 'stowage', rev: '7' } as never, mime: 'text/plain' }),
  );
  await step('PutObject with an unusual key', () => client.put('deep/a/b/c/sp ace+plus~(ü).bin', bytes(2, 64)));
  await step('PutObject streamed (chunked)', async () => {
    const { Readable } = await import('node:stream');
    return client.putStream('docs/streamed.bin', Readable.from([bytes(3, 700), bytes(4, 300)]));
  });
  await step('HeadObject', () => client.head('docs/readme.txt'));
  await step('GetObjectMeta', () => (client as unknown as { getObjectMeta(name: string): Promise<unknown> }).getObjectMeta('docs/readme.txt'));
  await step('GetObject', () => client.get('docs/readme.txt'));
  await step('GetObject with Range', () => client.get('docs/readme.txt', { headers: { Range: 'bytes=10-19' } }));
  await step('GetObject with an invalid Range (whole object)', () => client.get('docs/readme.txt', { headers: { Range: 'bytes=5000-6000' } }));
  await step('GetObject of a missing key', () => client.get('docs/missing.txt'));
  await step('ListObjects v1 with delimiter', () => client.list({ prefix: 'docs/', delimiter: '/', 'max-keys': 1 }, {}));
  await step('ListObjects v1 with marker', () => client.list({ prefix: 'docs/', marker: 'docs/readme.txt', 'max-keys': 10 }, {}));
  await step('ListObjectsV2 first page', () => client.listV2({ prefix: 'deep/', delimiter: '/', 'max-keys': 1, 'encoding-type': 'url' } as never, {}));
  const page = await step('ListObjectsV2 page 1 of root', () => client.listV2({ 'max-keys': 1 }, {}));
  const token = (page as { nextContinuationToken?: string } | undefined)?.nextContinuationToken;
  if (token) await step('ListObjectsV2 with continuation-token', () => client.listV2({ 'max-keys': 1, 'continuation-token': token }, {}));
  await step('ListObjectsV2 with start-after', () => client.listV2({ 'start-after': 'deep/', 'max-keys': 5 }, {}));
  await step('CopyObject (COPY)', () => client.copy('docs/copy.txt', 'docs/readme.txt'));
  await step('CopyObject (REPLACE)', () => client.copy('docs/copy2.txt', 'docs/readme.txt', { meta: { rev: '8' } as never }));
  const first = await step('AppendObject at 0', () => client.append('logs/app.log', bytes(5, 100)));
  await step('AppendObject at 100', () => client.append('logs/app.log', bytes(6, 50), { position: String(first?.nextAppendPosition ?? 100) }));
  await step('AppendObject at a stale position', () => client.append('logs/app.log', bytes(7, 10), { position: '100' }));
  await step('PutObject source for UploadPartCopy', () => client.put('big/source.bin', bytes(8, 200 * 1024)));
  const init = await step('InitiateMultipartUpload', () => client.initMultipartUpload('big/assembled.bin', { mime: 'application/x-test' }));
  const uploadId = init?.uploadId ?? '';
  const part1 = await step('UploadPart 1', () => uploadBuffer(client, 'big/assembled.bin', uploadId, 1, bytes(9, 100 * 1024)));
  const part2 = await step('UploadPartCopy 2', () =>
    client.uploadPartCopy('big/assembled.bin', uploadId, 2, '0-102399', { sourceKey: 'big/source.bin', sourceBucketName: bucket }, {}),
  );
  const part3 = await step('UploadPart 3 (last, small)', () => uploadBuffer(client, 'big/assembled.bin', uploadId, 3, bytes(10, 1000)));
  await step('ListParts', () => client.listParts('big/assembled.bin', uploadId, { 'max-parts': 2 } as never));
  await step('ListMultipartUploads', () => client.listUploads({ prefix: 'big/' }));
  await step('CompleteMultipartUpload', () =>
    client.completeMultipartUpload('big/assembled.bin', uploadId, [
      { number: 1, etag: part1?.etag ?? '' },
      { number: 2, etag: (part2 as { res: { headers: { etag: string } } } | undefined)?.res.headers.etag ?? '' },
      { number: 3, etag: part3?.etag ?? '' },
    ]),
  );
  const small = await step('InitiateMultipartUpload (to fail)', () => client.initMultipartUpload('big/too-small.bin'));
  const smallId = small?.uploadId ?? '';
  const s1 = await step('UploadPart 1 (too small)', () => uploadBuffer(client, 'big/too-small.bin', smallId, 1, bytes(11, 1000)));
  const s2 = await step('UploadPart 2', () => uploadBuffer(client, 'big/too-small.bin', smallId, 2, bytes(12, 1000)));
  await step('CompleteMultipartUpload with a small part (EntityTooSmall)', () =>
    client.completeMultipartUpload('big/too-small.bin', smallId, [
      { number: 1, etag: s1?.etag ?? '' },
      { number: 2, etag: s2?.etag ?? '' },
    ]),
  );
  await step('AbortMultipartUpload', () => client.abortMultipartUpload('big/too-small.bin', smallId));
  await step('DeleteBucket that is not empty', () => client.deleteBucket(bucket));
  await step('PutObject virtual-hosted', () => virtualHosted.put('vhost/object.txt', bytes(13, 300)));
  await step('GetObject virtual-hosted', () => virtualHosted.get('vhost/object.txt'));
  for (const method of ['GET', 'HEAD'] as const) {
    const url = v4
      ? await client.signatureUrlV4(method as 'GET', 600, { headers: {}, queries: {} }, 'docs/readme.txt')
      : client.signatureUrl('docs/readme.txt', { method: method as 'GET', expires: 600 });
    await step(`Signed URL ${method}`, () => plainRequest(url, method));
  }
  await step('DeleteMultipleObjects', () =>
    client.deleteMulti(['docs/readme.txt', 'docs/copy.txt', 'docs/copy2.txt', 'docs/streamed.bin', 'deep/a/b/c/sp ace+plus~(ü).bin', 'logs/app.log'], {
      quiet: false,
    }),
  );
  await step('DeleteObject', () => client.delete('big/source.bin'));
  await step('DeleteObject (assembled)', () => client.delete('big/assembled.bin'));
  await step('DeleteObject (virtual-hosted)', () => virtualHosted.delete('vhost/object.txt'));
  await step('DeleteBucket', () => client.deleteBucket(bucket));
}

/** ali-oss's UploadPart of a whole Buffer. */
function uploadBuffer(client: OSS, name: string, uploadId: string, partNo: number, data: Buffer) {
  return client.uploadPart(name, uploadId, partNo, data, 0, data.length);
}

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? join(__dirname, '../../../../test/unit/services/oss-server/fixtures'));
  mkdirSync(outDir, { recursive: true });
  const aliOssVersion = (require('ali-oss/package.json') as { version: string }).version;
  for (const version of ['v1', 'v4'] as const) {
    const server = await startOssServer({ uploadIdSeed: FIXTURE_UPLOAD_ID_SEED });
    const generated = new Map<string, { seed: number; length: number }>();
    const bytes = (seed: number, length: number) => {
      const data = fixtureBytes(seed, length);
      generated.set(sha256(data), { seed, length });
      return data;
    };
    const recorder = await startRecorder(server.port, generated);
    const common = {
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      region: server.region,
      authorizationV4: version === 'v4',
      bucket: `replay-${version}`,
    };
    // Path-style through localhost; with an IP endpoint ali-oss puts the bucket in the Host header.
    const client = new OSS({ ...common, endpoint: `http://localhost:${recorder.port}`, sldEnable: true } as OSS.Options);
    const virtualHosted = new OSS({ ...common, endpoint: `http://127.0.0.1:${recorder.port}` });
    process.stdout.write(`capturing ali-oss ${aliOssVersion} with ${version} signatures\n`);
    await scenario(client, virtualHosted, common.bucket, version === 'v4', recorder, bytes);
    await recorder.close();
    await server.close();
    const fixture: Fixture = {
      generator: 'test/services/oss/capture.ts',
      client: `ali-oss ${aliOssVersion}`,
      signatureVersion: version,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      region: server.region,
      uploadIdSeed: FIXTURE_UPLOAD_ID_SEED,
      requests: recorder.records,
    };
    const file = join(outDir, `ali-oss-${version}.json`);
    writeFileSync(file, `${JSON.stringify(fixture, null, 1)}\n`);
    process.stdout.write(`wrote ${recorder.records.length} requests to ${file}\n`);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`capture failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
