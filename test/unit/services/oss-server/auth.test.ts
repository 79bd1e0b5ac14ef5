import assert from 'node:assert/strict';
import { SIGNATURE_VERSIONS, fetchUrl, makeClient, rawRequest, rejection, uniqueBucket, useOssServer, xmlField, type Client } from './helpers';
import type { OssServerHandle } from '../../../services/oss/server';

/** The server clock runs this far ahead of the real one. */
let clockOffsetMs = 0;
const shiftedClock = () => new Date(Date.now() + clockOffsetMs);

/** A URL signed by ali-oss for `method` on `key`, V1 (signatureUrl) or V4 (signatureUrlV4). */
async function signedUrl(client: Client, version: string, key: string, method: 'GET' | 'HEAD' | 'PUT', expires: number, extra: Record<string, string> = {}) {
  if (version === 'v4') {
    return client.signatureUrlV4(method as 'GET', expires, { headers: {}, queries: { ...extra } }, key);
  }
  const response = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.replace(/^response-/, ''), v]));
  return client.signatureUrl(key, { method: method as 'GET', expires, ...(Object.keys(response).length > 0 ? { response } : {}) });
}

describe('oss server: authentication', function () {
  this.timeout(30_000);
  const oss = useOssServer({ now: shiftedClock });
  afterEach(() => {
    clockOffsetMs = 0;
  });

  it('an unsigned request is 403 AccessDenied with an OSS XML error body and x-oss-request-id', async () => {
    const res = await rawRequest(oss.server().port, { path: '/some-bucket/key' });
    assert.equal(res.status, 403);
    assert.equal(res.headers['content-type'], 'application/xml');
    assert.match(String(res.headers['x-oss-request-id']), /^[0-9A-F]{24}$/);
    const body = res.body.toString();
    assert.match(body, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>[^<]+<\/Message><RequestId>/);
    assert.equal(xmlField(body, 'RequestId'), res.headers['x-oss-request-id']);
    assert.equal(xmlField(body, 'HostId'), `127.0.0.1:${oss.server().port}`);
  });

  it('a bad V1 signature is 403 SignatureDoesNotMatch, naming the string to sign', async () => {
    const res = await rawRequest(oss.server().port, {
      method: 'PUT',
      path: '/some-bucket/key',
      headers: { 'x-oss-date': new Date().toUTCString(), authorization: `OSS ${oss.server().accessKeyId}:bm90IGEgc2lnbmF0dXJl`, 'content-type': 'text/plain' },
      body: 'x',
    });
    assert.equal(res.status, 403);
    assert.equal(xmlField(res.body, 'Code'), 'SignatureDoesNotMatch');
    assert.equal(xmlField(res.body, 'SignatureProvided'), 'bm90IGEgc2lnbmF0dXJl');
    assert.match(xmlField(res.body, 'StringToSign') ?? '', /^PUT\n\ntext\/plain\n.+GMT\nx-oss-date:.+\n\/some-bucket\/key$/);
  });

  it('HEAD errors carry no body but the XML, base64-encoded, in x-oss-err', async () => {
    const res = await rawRequest(oss.server().port, {
      method: 'HEAD',
      path: '/some-bucket/key',
      headers: { 'x-oss-date': new Date().toUTCString(), authorization: `OSS ${oss.server().accessKeyId}:AAAA` },
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.length, 0);
    const decoded = Buffer.from(String(res.headers['x-oss-err']), 'base64').toString();
    assert.equal(xmlField(decoded, 'Code'), 'SignatureDoesNotMatch');
  });

  it('V4 requires x-oss-content-sha256 (InvalidArgument) and a well-formed Authorization', async () => {
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const credential = `${oss.server().accessKeyId}/${date.slice(0, 8)}/cn-hangzhou/oss/aliyun_v4_request`;
    const missing = await rawRequest(oss.server().port, {
      path: '/some-bucket/key',
      headers: { 'x-oss-date': date, authorization: `OSS4-HMAC-SHA256 Credential=${credential},Signature=${'0'.repeat(64)}` },
    });
    assert.equal(missing.status, 400);
    assert.equal(xmlField(missing.body, 'Code'), 'InvalidArgument');
    const malformed = await rawRequest(oss.server().port, {
      path: '/some-bucket/key',
      headers: {
        'x-oss-date': date,
        'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
        authorization: `OSS4-HMAC-SHA256 Credential=${credential},AdditionalHeaders=,Signature=00`,
      },
    });
    assert.equal(malformed.status, 400);
    assert.equal(xmlField(malformed.body, 'Code'), 'InvalidArgument');
  });

  for (const version of SIGNATURE_VERSIONS) {
    describe(`with ${version} signatures`, () => {
      let bucket: string;
      let client: Client;
      const server = (): OssServerHandle => oss.server();

      before(async () => {
        bucket = uniqueBucket(`auth-${version}`);
        client = makeClient(server(), { version, bucket });
        await client.putBucket(bucket);
        await client.put('signed/object.txt', Buffer.from('signed content'));
      });

      it('a wrong secret is 403 SignatureDoesNotMatch and changes nothing', async () => {
        const wrong = makeClient(server(), { version, bucket, accessKeySecret: 'not-the-secret' });
        const err = await rejection(wrong.put('auth/denied.txt', Buffer.from('x')));
        assert.equal(err.status, 403);
        assert.equal(err.code, 'SignatureDoesNotMatch');
        assert.match(err.requestId ?? '', /^[0-9A-F]{24}$/);
        assert.equal((await rejection(client.head('auth/denied.txt'))).status, 404);
        const head = await rejection(wrong.head('signed/object.txt'));
        assert.equal(head.code, 'SignatureDoesNotMatch', 'ali-oss decodes the HEAD error from x-oss-err');
      });

      it('an unknown AccessKeyId is 403 InvalidAccessKeyId', async () => {
        const stranger = makeClient(server(), { version, bucket, accessKeyId: 'NOBODY' });
        const err = await rejection(stranger.get('signed/object.txt'));
        assert.equal(err.status, 403);
        assert.equal(err.code, 'InvalidAccessKeyId');
      });

      it('a request more than 15 minutes off the server clock is 403 RequestTimeTooSkewed', async () => {
        clockOffsetMs = 20 * 60_000;
        const err = await rejection(client.get('signed/object.txt'));
        assert.equal(err.status, 403);
        assert.equal(err.code, 'RequestTimeTooSkewed');
        clockOffsetMs = 10 * 60_000;
        assert.equal((await client.get('signed/object.txt')).content.toString(), 'signed content');
      });

      it('signed URLs work for GET and HEAD, with response-* overrides', async () => {
        const get = await fetchUrl(await signedUrl(client, version, 'signed/object.txt', 'GET', 300));
        assert.equal(get.status, 200);
        assert.equal(get.body.toString(), 'signed content');
        const head = await fetchUrl(await signedUrl(client, version, 'signed/object.txt', 'HEAD', 300), 'HEAD');
        assert.equal(head.status, 200);
        assert.equal(head.headers['content-length'], '14');
        const typed = await fetchUrl(await signedUrl(client, version, 'signed/object.txt', 'GET', 300, { 'response-content-type': 'text/x-custom' }));
        assert.equal(typed.status, 200);
        assert.equal(typed.headers['content-type'], 'text/x-custom');
      });

      it('a signed URL for GET does not allow HEAD, another key or a changed signature', async () => {
        const url = await signedUrl(client, version, 'signed/object.txt', 'GET', 300);
        const asHead = await fetchUrl(url, 'HEAD');
        assert.equal(asHead.status, 403);
        const otherKey = await fetchUrl(url.replace('signed/object.txt', 'signed/other.txt'));
        assert.equal(otherKey.status, 403);
        assert.equal(xmlField(otherKey.body, 'Code'), 'SignatureDoesNotMatch');
        const param = version === 'v4' ? 'x-oss-signature' : 'Signature';
        const parsed = new URL(url);
        parsed.searchParams.set(param, version === 'v4' ? '0'.repeat(64) : 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=');
        const tampered = await fetchUrl(parsed.toString());
        assert.equal(xmlField(tampered.body, 'Code'), 'SignatureDoesNotMatch');
      });

      it('an expired signed URL is 403 AccessDenied (Request has expired)', async () => {
        const url = await signedUrl(client, version, 'signed/object.txt', 'GET', 60);
        assert.equal((await fetchUrl(url)).status, 200);
        clockOffsetMs = 2 * 60_000;
        const res = await fetchUrl(url);
        assert.equal(res.status, 403);
        assert.equal(xmlField(res.body, 'Code'), 'AccessDenied');
        assert.equal(xmlField(res.body, 'Message'), 'Request has expired.');
      });

      it('a signed URL may be sent virtual-hosted (bucket in the Host header)', async () => {
        const url = new URL(await signedUrl(client, version, 'signed/object.txt', 'GET', 300));
        const path = url.pathname.replace(`/${bucket}`, '');
        const res = await rawRequest(server().port, { path: `${path}${url.search}`, headers: { host: `${bucket}.localhost:${server().port}` } });
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'signed content');
      });

      it('a signed URL for PUT uploads, with the signed Content-Type', async () => {
        let url: string;
        if (version === 'v4') {
          url = await client.signatureUrlV4('PUT', 300, { headers: { 'Content-Type': 'text/plain' } }, 'signed/uploaded.txt');
        } else {
          url = client.signatureUrl('signed/uploaded.txt', { method: 'PUT', expires: 300, 'Content-Type': 'text/plain' });
        }
        const parsed = new URL(url);
        const put = await rawRequest(server().port, {
          method: 'PUT',
          path: `${parsed.pathname}${parsed.search}`,
          headers: { host: parsed.host, 'content-type': 'text/plain' },
          body: 'via url',
        });
        assert.equal(put.status, 200, put.body.toString());
        assert.equal((await client.get('signed/uploaded.txt')).content.toString(), 'via url');
        const wrongType = await rawRequest(server().port, {
          method: 'PUT',
          path: `${parsed.pathname}${parsed.search}`,
          headers: { host: parsed.host, 'content-type': 'application/json' },
          body: '{}',
        });
        assert.equal(xmlField(wrongType.body, 'Code'), 'SignatureDoesNotMatch');
      });

      if (version === 'v4') {
        it('V4: a scope for another region is InvalidArgument; x-oss-expires above 7 days is InvalidArgument', async () => {
          const elsewhere = makeClient(server(), { version, bucket, region: 'oss-us-west-1' });
          const err = await rejection(elsewhere.get('signed/object.txt'));
          assert.equal(err.status, 400);
          assert.equal(err.code, 'InvalidArgument');
          const tooLong = await fetchUrl(await signedUrl(client, version, 'signed/object.txt', 'GET', 8 * 24 * 3600));
          assert.equal(tooLong.status, 400);
          assert.equal(xmlField(tooLong.body, 'Code'), 'InvalidArgument');
        });

        it('V4: AdditionalHeaders are signed (a Range signed as an additional header)', async () => {
          const got = await client.get('signed/object.txt', { headers: { Range: 'bytes=0-5' }, additionalHeaders: ['range'] });
          assert.equal(got.res.status, 206);
          assert.equal(got.content.toString(), 'signed');
        });
      }
    });
  }
});

describe('oss server: STS security tokens', function () {
  this.timeout(30_000);
  const oss = useOssServer({ stsToken: 'CAIS-test-security-token' });

  for (const version of SIGNATURE_VERSIONS) {
    it(`${version}: requests with the token are accepted, without it or with another one they are InvalidSecurityToken`, async () => {
      const bucket = uniqueBucket(`sts-${version}`);
      const withToken = makeClient(oss.server(), { version, bucket, stsToken: 'CAIS-test-security-token' });
      await withToken.putBucket(bucket);
      await withToken.put('sts.txt', Buffer.from('temporary'));
      assert.equal((await withToken.get('sts.txt')).content.toString(), 'temporary');
      const url =
        version === 'v4'
          ? await withToken.signatureUrlV4('GET', 300, { headers: {}, queries: {} }, 'sts.txt')
          : withToken.signatureUrl('sts.txt', { expires: 300 });
      assert.ok(url.includes(version === 'v4' ? 'x-oss-security-token=' : 'security-token='), url);
      assert.equal((await fetchUrl(url)).body.toString(), 'temporary');

      const without = makeClient(oss.server(), { version, bucket });
      const missing = await rejection(without.get('sts.txt'));
      assert.equal(missing.status, 403);
      assert.equal(missing.code, 'InvalidSecurityToken');
      const wrong = makeClient(oss.server(), { version, bucket, stsToken: 'CAIS-another-token' });
      assert.equal((await rejection(wrong.get('sts.txt'))).code, 'InvalidSecurityToken');
    });
  }
});

describe('oss server: clock-skew check disabled', function () {
  this.timeout(30_000);
  const oss = useOssServer({ now: () => new Date(Date.now() + 3_600_000), checkClockSkew: false });

  it('accepts requests an hour off the server clock', async () => {
    const bucket = uniqueBucket('skew-off');
    const client = makeClient(oss.server(), { version: 'v1', bucket });
    await client.putBucket(bucket);
    await client.put('skew.txt', Buffer.from('ok'));
    assert.equal((await client.get('skew.txt')).content.toString(), 'ok');
  });
});
