/**
 * Absolute-form request targets (`GET http://host:port/key HTTP/1.1`). RFC 9112 §3.2.2 requires servers to
 * accept them, and aliyungo (the Go OSS client inside distribution's oss driver) sends every request that
 * way, with the bucket only in the host name. The target's authority then names the host (RFC 9112 §3.3),
 * and the signatures cover `/bucket/key` exactly as for the origin-form request.
 *
 * The requests are signed here by hand from literal strings to sign, independently of the server's signers.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { parseRequestTarget } from '../../../services/oss/request';
import { makeClient, rawRequest, useOssServer, xmlField } from './helpers';

const BUCKET = 'absolute-form';
const CONTENT = 'absolute-form content\n';

/** V1: base64(hmac-sha1(secret, stringToSign)). */
function v1(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64');
}

/** V4: hex(hmac-sha256(key chain over "aliyun_v4"+secret, date, region, oss, aliyun_v4_request; string to sign)). */
function v4(secret: string, date: string, region: string, canonicalRequest: string, datetime: string): string {
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
  const key = hmac(hmac(hmac(hmac(`aliyun_v4${secret}`, date), region), 'oss'), 'aliyun_v4_request');
  const hashed = createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
  const stringToSign = `OSS4-HMAC-SHA256\n${datetime}\n${date}/${region}/oss/aliyun_v4_request\n${hashed}`;
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** yyyymmddThhmmssZ */
function isoBasic(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

describe('oss server: absolute-form request targets', function () {
  this.timeout(30_000);
  const oss = useOssServer({ buckets: [BUCKET] });
  const virtualHost = () => `${BUCKET}.oss-cn-hangzhou.aliyuncs.com:${oss.server().port}`;
  const pathHost = () => `localhost:${oss.server().port}`;

  before(async () => {
    const client = makeClient(oss.server(), { version: 'v1', bucket: BUCKET });
    await client.put('dir/file.txt', Buffer.from(CONTENT));
  });

  /** A V1-signed request; `signedResource` is what the signature covers. */
  function v1Request(method: string, target: string, host: string, signedResource: string, extra: { body?: string; contentType?: string } = {}) {
    const server = oss.server();
    const date = new Date().toUTCString();
    const stringToSign = `${method}\n\n${extra.contentType ?? ''}\n${date}\n${signedResource}`;
    const headers: Record<string, string> = { host, date, authorization: `OSS ${server.accessKeyId}:${v1(server.accessKeySecret, stringToSign)}` };
    if (extra.contentType) headers['content-type'] = extra.contentType;
    return rawRequest(server.port, { method, path: target, headers, ...(extra.body === undefined ? {} : { body: extra.body }) });
  }

  /** A V4-signed GET; `signedUri` is the canonical URI the signature covers. */
  function v4Get(target: string, host: string, signedUri: string, signedQuery = '') {
    const server = oss.server();
    const now = new Date();
    const datetime = isoBasic(now);
    const date = datetime.slice(0, 8);
    const canonicalRequest = `GET\n${signedUri}\n${signedQuery}\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:${datetime}\n\n\nUNSIGNED-PAYLOAD`;
    const signature = v4(server.accessKeySecret, date, 'cn-hangzhou', canonicalRequest, datetime);
    return rawRequest(server.port, {
      path: target,
      headers: {
        host,
        'x-oss-date': datetime,
        'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
        authorization: `OSS4-HMAC-SHA256 Credential=${server.accessKeyId}/${date}/cn-hangzhou/oss/aliyun_v4_request,Signature=${signature}`,
      },
    });
  }

  describe('virtual-hosted (bucket in the host name)', () => {
    it('V1: a correctly signed GET is answered with the object', async () => {
      const res = await v1Request('GET', `http://${virtualHost()}/dir/file.txt`, virtualHost(), `/${BUCKET}/dir/file.txt`);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.body.toString(), CONTENT);
    });

    it('V1: a request signed for another key is 403 SignatureDoesNotMatch over /bucket/key', async () => {
      const res = await v1Request('GET', `http://${virtualHost()}/dir/file.txt`, virtualHost(), `/${BUCKET}/dir/other.txt`);
      assert.equal(res.status, 403);
      assert.equal(xmlField(res.body, 'Code'), 'SignatureDoesNotMatch');
      assert.match(xmlField(res.body, 'StringToSign') ?? '', new RegExp(`\n/${BUCKET}/dir/file\\.txt$`));
    });

    it('V1: the listing aliyungo sends at start-up (empty parameters, prefix with a slash) is a ListBucketResult', async () => {
      const target = `http://${virtualHost()}/?delimiter=&marker=&max-keys=1&prefix=%2Fregistry`;
      const res = await v1Request('GET', target, virtualHost(), `/${BUCKET}/`);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(xmlField(res.body, 'Name'), BUCKET);
      assert.equal(xmlField(res.body, 'Prefix'), '/registry');
      assert.equal(xmlField(res.body, 'MaxKeys'), '1');
    });

    it('V1: a PUT stores the object under the target path, not the whole URL', async () => {
      const res = await v1Request('PUT', `http://${virtualHost()}/dir/put.txt`, virtualHost(), `/${BUCKET}/dir/put.txt`, {
        body: 'put',
        contentType: 'text/plain',
      });
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(
        [...oss.server().store.buckets.get(BUCKET)!.objects.keys()].filter((key) => key.includes('put')),
        ['dir/put.txt'],
      );
    });

    it('the authority of the target names the bucket, not the Host header (RFC 9112 §3.3)', async () => {
      const host = `other-bucket.oss-cn-hangzhou.aliyuncs.com:${oss.server().port}`;
      const res = await v1Request('GET', `http://${virtualHost()}/dir/file.txt`, host, `/${BUCKET}/dir/file.txt`);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.body.toString(), CONTENT);
      const wrong = await v1Request('GET', `http://${virtualHost()}/dir/file.txt`, host, `/other-bucket/dir/file.txt`);
      assert.equal(wrong.status, 403);
      assert.equal(xmlField(wrong.body, 'Code'), 'SignatureDoesNotMatch');
    });

    it('V4: a correctly signed GET is answered; one signed for another key is SignatureDoesNotMatch', async () => {
      const res = await v4Get(`http://${virtualHost()}/dir/file.txt`, virtualHost(), `/${BUCKET}/dir/file.txt`);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.body.toString(), CONTENT);
      const wrong = await v4Get(`http://${virtualHost()}/dir/file.txt`, virtualHost(), `/${BUCKET}/dir/other.txt`);
      assert.equal(wrong.status, 403);
      assert.equal(xmlField(wrong.body, 'Code'), 'SignatureDoesNotMatch');
      assert.match(xmlField(wrong.body, 'CanonicalRequest') ?? '', new RegExp(`^GET\n/${BUCKET}/dir/file\\.txt\n`));
    });

    it('V4: the query of an absolute-form target is signed like an origin-form one', async () => {
      const target = `http://${virtualHost()}/?max-keys=1&prefix=dir%2F`;
      const res = await v4Get(target, virtualHost(), `/${BUCKET}/`, 'max-keys=1&prefix=dir%2F');
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(xmlField(res.body, 'Key'), 'dir/file.txt');
      const wrong = await v4Get(target, virtualHost(), `/${BUCKET}/`, 'max-keys=2&prefix=dir%2F');
      assert.equal(wrong.status, 403);
      assert.equal(xmlField(wrong.body, 'Code'), 'SignatureDoesNotMatch');
    });
  });

  describe('path-style (bucket in the path)', () => {
    it('V1: a correctly signed GET is answered; one signed for another key is SignatureDoesNotMatch', async () => {
      const res = await v1Request('GET', `http://${pathHost()}/${BUCKET}/dir/file.txt`, pathHost(), `/${BUCKET}/dir/file.txt`);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.body.toString(), CONTENT);
      const wrong = await v1Request('GET', `http://${pathHost()}/${BUCKET}/dir/file.txt`, pathHost(), `/${BUCKET}/dir/other.txt`);
      assert.equal(wrong.status, 403);
      assert.equal(xmlField(wrong.body, 'Code'), 'SignatureDoesNotMatch');
    });

    it('V4: a correctly signed GET is answered; one signed for another key is SignatureDoesNotMatch', async () => {
      const res = await v4Get(`http://${pathHost()}/${BUCKET}/dir/file.txt`, pathHost(), `/${BUCKET}/dir/file.txt`);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.body.toString(), CONTENT);
      const wrong = await v4Get(`http://${pathHost()}/${BUCKET}/dir/file.txt`, pathHost(), `/${BUCKET}/dir/other.txt`);
      assert.equal(wrong.status, 403);
      assert.equal(xmlField(wrong.body, 'Code'), 'SignatureDoesNotMatch');
    });

    it('an IP authority is path-style even when the Host header names a bucket', async () => {
      const ip = `127.0.0.1:${oss.server().port}`;
      const res = await v1Request('GET', `http://${ip}/${BUCKET}/dir/file.txt`, virtualHost(), `/${BUCKET}/dir/file.txt`);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.body.toString(), CONTENT);
    });
  });

  it('the origin-form request with the same Host is still answered the same way', async () => {
    const res = await v1Request('GET', '/dir/file.txt', virtualHost(), `/${BUCKET}/dir/file.txt`);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), CONTENT);
  });
});

describe('oss server: parseRequestTarget', () => {
  it('splits origin-form into path and query', () => {
    assert.deepEqual(parseRequestTarget('/b/k%20x?uploads&a=1'), { path: '/b/k%20x', query: 'uploads&a=1' });
    assert.deepEqual(parseRequestTarget('/'), { path: '/', query: '' });
  });

  it('takes the authority of absolute-form, drops userinfo, and defaults an empty path to /', () => {
    assert.deepEqual(parseRequestTarget('http://b.oss-cn-hangzhou.aliyuncs.com:9000/k?x=1'), {
      authority: 'b.oss-cn-hangzhou.aliyuncs.com:9000',
      path: '/k',
      query: 'x=1',
    });
    assert.deepEqual(parseRequestTarget('HTTPS://user:pw@localhost:1'), { authority: 'localhost:1', path: '/', query: '' });
    assert.deepEqual(parseRequestTarget('http://[::1]:8080?max-keys=1'), { authority: '[::1]:8080', path: '/', query: 'max-keys=1' });
  });
});
