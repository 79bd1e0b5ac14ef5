/**
 * Replays, byte for byte, the requests the real ali-oss client sent (captured by test/services/oss/capture.ts
 * into fixtures/): each must verify and get the status it got when captured, and each with its signature or
 * its signed headers tampered with must be refused with SignatureDoesNotMatch.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fixtureBodyBytes, type CapturedRequest, type Fixture } from '../../../services/oss/capture';
import { rawRequest, useOssServer, xmlField } from './helpers';

const FIXTURE_DIR = resolve(__dirname, '../../../../../test/unit/services/oss-server/fixtures');

/** Every operation the fixtures must exercise (by the capture script's step names). */
const REQUIRED_STEPS = [
  'PutBucket',
  'GetBucketInfo',
  'PutObject with metadata',
  'PutObject streamed (chunked)',
  'HeadObject',
  'GetObject with Range',
  'GetObject with an invalid Range (whole object)',
  'ListObjects v1 with delimiter',
  'ListObjectsV2 with continuation-token',
  'CopyObject (COPY)',
  'AppendObject at 100',
  'AppendObject at a stale position',
  'InitiateMultipartUpload',
  'UploadPart 1',
  'UploadPartCopy 2',
  'ListParts',
  'ListMultipartUploads',
  'CompleteMultipartUpload',
  'CompleteMultipartUpload with a small part (EntityTooSmall)',
  'AbortMultipartUpload',
  'PutObject virtual-hosted',
  'Signed URL GET',
  'Signed URL HEAD',
  'DeleteMultipleObjects',
  'DeleteObject',
  'DeleteBucket',
];

function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, name), 'utf8')) as Fixture;
}

function headerIndex(raw: string[], name: string): number {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return i;
  return -1;
}

/** Flips one character of a signature so it stays well-formed but wrong. */
function flip(signature: string, hex: boolean): string {
  const at = signature.length - (hex ? 1 : 3);
  const c = signature[at]!;
  const replacement = hex ? (c === '0' ? '1' : '0') : c === 'A' ? 'B' : 'A';
  return signature.slice(0, at) + replacement + signature.slice(at + 1);
}

/** The request with its signature (header or URL) altered. */
function withBadSignature(request: CapturedRequest): { url: string; rawHeaders: string[] } {
  const rawHeaders = [...request.rawHeaders];
  const auth = headerIndex(rawHeaders, 'authorization');
  if (auth >= 0) {
    const value = rawHeaders[auth + 1]!;
    const v4 = value.startsWith('OSS4-HMAC-SHA256');
    const match = v4 ? /Signature=([0-9a-f]+)$/.exec(value) : /:([^:]+)$/.exec(value);
    assert.ok(match, `no signature in ${value}`);
    rawHeaders[auth + 1] = value.slice(0, match.index + match[0].length - match[1]!.length) + flip(match[1]!, v4);
    return { url: request.url, rawHeaders };
  }
  const v4 = request.url.includes('x-oss-signature=');
  const url = request.url.replace(v4 ? /(x-oss-signature=)([0-9a-f]+)/ : /(Signature=)([^&]+)/, (_, name: string, value: string) => {
    const decoded = decodeURIComponent(value);
    return name + encodeURIComponent(flip(decoded, v4));
  });
  assert.notEqual(url, request.url, 'the URL carries a signature');
  return { url, rawHeaders };
}

/** The request with one more x-oss-* header: signed content the signature does not cover. */
function withExtraSignedHeader(request: CapturedRequest): { url: string; rawHeaders: string[] } {
  const rawHeaders = [...request.rawHeaders];
  const host = headerIndex(rawHeaders, 'host');
  rawHeaders.splice(host, 0, 'x-oss-meta-replay-tamper', 'added after signing');
  return { url: request.url, rawHeaders };
}

async function send(port: number, request: CapturedRequest, variant?: { url: string; rawHeaders: string[] }) {
  return rawRequest(port, {
    method: request.method,
    path: variant?.url ?? request.url,
    headers: variant?.rawHeaders ?? request.rawHeaders,
    body: fixtureBodyBytes(request.body),
  });
}

for (const file of ['ali-oss-v1.json', 'ali-oss-v4.json']) {
  const fixture = loadFixture(file);

  describe(`oss server: replay of captured ${fixture.client} requests (${fixture.signatureVersion})`, function () {
    this.timeout(30_000);
    // The captured requests carry their own dates: the server clock is set to each one's arrival time.
    let clock = 0;
    const oss = useOssServer({
      accessKeyId: fixture.accessKeyId,
      accessKeySecret: fixture.accessKeySecret,
      region: fixture.region,
      uploadIdSeed: fixture.uploadIdSeed,
      now: () => new Date(clock),
    });

    it('the fixture covers every operation, with the expected signature version', () => {
      const steps = new Set(fixture.requests.map((r) => r.name));
      for (const step of REQUIRED_STEPS) assert.ok(steps.has(step), `the fixture lacks "${step}"`);
      const expected = fixture.signatureVersion === 'v4' ? /^OSS4-HMAC-SHA256 Credential=/ : /^OSS [^:]+:/;
      for (const request of fixture.requests) {
        const auth = headerIndex(request.rawHeaders, 'authorization');
        if (auth >= 0) assert.match(request.rawHeaders[auth + 1]!, expected, request.name);
        else assert.match(request.url, fixture.signatureVersion === 'v4' ? /x-oss-signature=/ : /Signature=/, request.name);
      }
    });

    it('16 minutes later, header-signed requests are RequestTimeTooSkewed and signed URLs have expired', async () => {
      const headerSigned = fixture.requests.find((r) => headerIndex(r.rawHeaders, 'authorization') >= 0)!;
      clock = headerSigned.receivedAt + 16 * 60_000;
      const skewed = await send(oss.server().port, headerSigned);
      assert.equal(skewed.status, 403);
      assert.equal(xmlField(skewed.body, 'Code'), 'RequestTimeTooSkewed');
      const urlSigned = fixture.requests.find((r) => r.name === 'Signed URL GET')!;
      clock = urlSigned.receivedAt + 16 * 60_000;
      const expired = await send(oss.server().port, urlSigned);
      assert.equal(expired.status, 403);
      assert.equal(xmlField(expired.body, 'Message'), 'Request has expired.');
    });

    fixture.requests.forEach((request, index) => {
      const expectation = `${request.response.status}${request.response.errorCode ? ` ${request.response.errorCode}` : ''}`;
      it(`#${index + 1} ${request.name}: ${request.method} verifies and is ${expectation}; tampered, it is SignatureDoesNotMatch`, async () => {
        clock = request.receivedAt;
        const port = oss.server().port;
        for (const tampered of [withBadSignature(request), withExtraSignedHeader(request)]) {
          const refused = await send(port, request, tampered);
          assert.equal(refused.status, 403);
          const xml = request.method === 'HEAD' ? Buffer.from(String(refused.headers['x-oss-err']), 'base64') : refused.body;
          assert.equal(xmlField(xml, 'Code'), 'SignatureDoesNotMatch');
        }
        const answer = await send(port, request);
        assert.equal(answer.status, request.response.status, answer.body.toString());
        if (request.response.errorCode) assert.equal(xmlField(answer.body, 'Code'), request.response.errorCode);
        if (request.response.etag) assert.equal(answer.headers.etag, request.response.etag);
      });
    });
  });
}
