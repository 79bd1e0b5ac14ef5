import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { SIGNATURE_VERSIONS, makeClient, pattern, rejection, uniqueBucket, useOssServer, type Client } from './helpers';

const md5Hex = (data: Buffer) => createHash('md5').update(data).digest('hex').toUpperCase();

for (const version of SIGNATURE_VERSIONS) {
  describe(`oss server: objects through ali-oss (${version})`, function () {
    this.timeout(30_000);
    const oss = useOssServer();
    let client: Client;
    let bucket: string;

    before(async () => {
      bucket = uniqueBucket(`objects-${version}`);
      client = makeClient(oss.server(), { version, bucket });
      await client.putBucket(bucket);
    });

    it('PutObject then GetObject returns the bytes, an uppercase quoted MD5 ETag, Last-Modified and a request id', async () => {
      const data = pattern(5000, 3);
      const before = Math.floor(Date.now() / 1000) * 1000;
      const put = await client.put('plain/data.bin', data);
      assert.equal(put.res.status, 200);
      assert.equal((put.res.headers as Record<string, string>).etag, `"${md5Hex(data)}"`);
      const got = await client.get('plain/data.bin');
      assert.deepEqual(got.content, data);
      const headers = got.res.headers as Record<string, string>;
      assert.equal(headers['content-length'], '5000');
      assert.equal(headers['x-oss-object-type'], 'Normal');
      assert.match(headers['x-oss-request-id']!, /^[0-9A-F]{24}$/);
      const modified = Date.parse(headers['last-modified']!);
      assert.ok(modified >= before && modified <= Date.now(), `Last-Modified ${headers['last-modified']} is not now`);
    });

    it('x-oss-meta-* and the standard headers round-trip through HeadObject and GetObject', async () => {
      await client.put('meta/doc.txt', Buffer.from('hello'), {
        meta: { color: 'blue', 'multi-word': 'a b c' } as never,
        mime: 'text/plain',
        headers: { 'Cache-Control': 'no-cache', 'Content-Disposition': 'attachment; filename="doc.txt"' },
      });
      const head = await client.head('meta/doc.txt');
      assert.deepEqual(head.meta, { color: 'blue', 'multi-word': 'a b c' });
      const headers = head.res.headers as Record<string, string>;
      assert.equal(headers['content-type'], 'text/plain');
      assert.equal(headers['cache-control'], 'no-cache');
      assert.equal(headers['content-disposition'], 'attachment; filename="doc.txt"');
      assert.equal(headers['content-length'], '5');
    });

    it('a Content-MD5 that does not match the body is InvalidDigest and stores nothing', async () => {
      const wrong = createHash('md5').update('something else').digest('base64');
      const err = await rejection(client.put('md5/bad.txt', Buffer.from('payload'), { headers: { 'Content-MD5': wrong } }));
      assert.equal(err.status, 400);
      assert.equal(err.code, 'InvalidDigest');
      assert.equal((await rejection(client.head('md5/bad.txt'))).status, 404);
    });

    it('GetObject with a valid Range is 206 with Content-Range (bounded, open-ended and suffix forms)', async () => {
      await client.put('range/ten.txt', Buffer.from('0123456789'));
      const cases: [string, string, string][] = [
        ['bytes=2-5', '2345', 'bytes 2-5/10'],
        ['bytes=7-', '789', 'bytes 7-9/10'],
        ['bytes=-3', '789', 'bytes 7-9/10'],
        ['bytes=0-9', '0123456789', 'bytes 0-9/10'],
      ];
      for (const [range, body, contentRange] of cases) {
        const got = await client.get('range/ten.txt', { headers: { Range: range } });
        assert.equal(got.res.status, 206, range);
        assert.equal(got.content.toString(), body, range);
        assert.equal((got.res.headers as Record<string, string>)['content-range'], contentRange, range);
      }
    });

    it("OSS's quirk: an invalid or out-of-range Range is ignored, 200 with the whole object", async () => {
      await client.put('range/quirk.txt', Buffer.from('0123456789'));
      for (const range of ['bytes=100-200', 'bytes=0-100', 'bytes=5-2', 'bytes=10-', 'bytes=-11', 'byte=0-1', 'bytes=a-b']) {
        const got = await client.get('range/quirk.txt', { headers: { Range: range } });
        assert.equal(got.res.status, 200, range);
        assert.equal(got.content.toString(), '0123456789', range);
        assert.equal((got.res.headers as Record<string, string>)['content-range'], undefined, range);
      }
    });

    it('with x-oss-range-behavior: standard, an end past the object is clamped and a start past it is 416 InvalidRange', async () => {
      await client.put('range/standard.txt', Buffer.from('0123456789'));
      const clamped = await client.get('range/standard.txt', { headers: { Range: 'bytes=4-100', 'x-oss-range-behavior': 'standard' } });
      assert.equal(clamped.res.status, 206);
      assert.equal(clamped.content.toString(), '456789');
      const err = await rejection(client.get('range/standard.txt', { headers: { Range: 'bytes=10-20', 'x-oss-range-behavior': 'standard' } }));
      assert.equal(err.status, 416);
      assert.equal(err.code, 'InvalidRange');
    });

    it('a missing key is NoSuchKey for GET and 404 for HEAD; DeleteObject of a missing key is still 204', async () => {
      const get = await rejection(client.get('missing/key'));
      assert.equal(get.status, 404);
      assert.equal(get.code, 'NoSuchKey');
      assert.match(get.requestId ?? '', /^[0-9A-F]{24}$/);
      const head = await rejection(client.head('missing/key'));
      assert.equal(head.status, 404);
      const deleted = await client.delete('missing/key');
      assert.equal(deleted.res.status, 204);
    });

    it('DeleteObject removes the object', async () => {
      await client.put('delete/me', Buffer.from('x'));
      await client.delete('delete/me');
      assert.equal((await rejection(client.get('delete/me'))).code, 'NoSuchKey');
    });

    it('GetObjectMeta returns ETag, size and Last-Modified', async () => {
      const data = pattern(321, 9);
      await client.put('meta/light.bin', data);
      const meta = await client.getObjectMeta('meta/light.bin');
      assert.equal(meta.status, 200);
      assert.equal(meta.res.headers.etag, `"${md5Hex(data)}"`);
      assert.equal(meta.res.headers['content-length'], '321');
      assert.ok(meta.res.headers['last-modified']);
    });

    it('PutObject from a stream (chunked transfer encoding) stores every byte', async () => {
      const parts = [pattern(70_000, 1), pattern(1, 2), pattern(130_000, 3)];
      await client.putStream('stream/chunked.bin', Readable.from(parts));
      const got = await client.get('stream/chunked.bin');
      assert.deepEqual(got.content, Buffer.concat(parts));
    });

    it('CopyObject keeps content and metadata (COPY) or takes the request metadata (REPLACE)', async () => {
      const data = pattern(2048, 4);
      await client.put('copy/source.txt', data, { meta: { origin: 'source' } as never, mime: 'text/plain' });
      const copied = await client.copy('copy/kept.txt', 'copy/source.txt');
      assert.equal(copied.res.status, 200);
      assert.equal(copied.data?.etag, `"${md5Hex(data)}"`);
      const kept = await client.head('copy/kept.txt');
      assert.deepEqual(kept.meta, { origin: 'source' });
      assert.equal((kept.res.headers as Record<string, string>)['content-type'], 'text/plain');
      assert.deepEqual((await client.get('copy/kept.txt')).content, data);

      await client.copy('copy/replaced.txt', 'copy/source.txt', { meta: { origin: 'replaced' } as never });
      const replaced = await client.head('copy/replaced.txt');
      assert.deepEqual(replaced.meta, { origin: 'replaced' });
      assert.deepEqual((await client.get('copy/replaced.txt')).content, data);
    });

    it('CopyObject from another bucket, of keys that need escaping, and of a missing source', async () => {
      const other = uniqueBucket(`copy-src-${version}`);
      await client.putBucket(other);
      const source = makeClient(oss.server(), { version, bucket: other });
      await source.put('weird dir/ü+(1)~%.txt', Buffer.from('across'));
      await client.copy('copy/from-other.txt', 'weird dir/ü+(1)~%.txt', other);
      assert.equal((await client.get('copy/from-other.txt')).content.toString(), 'across');
      const missing = await rejection(client.copy('copy/none.txt', 'copy/no-such-source.txt'));
      assert.equal(missing.status, 404);
      assert.equal(missing.code, 'NoSuchKey');
    });

    it('CopyObject honours x-oss-copy-source-if-match (412 PreconditionFailed on mismatch)', async () => {
      await client.put('copy/conditional.txt', Buffer.from('c'));
      const err = await rejection(client.copy('copy/conditional-2.txt', 'copy/conditional.txt', { headers: { 'If-Match': '"0000"' } }));
      assert.equal(err.status, 412);
      assert.equal(err.code, 'PreconditionFailed');
    });

    it('AppendObject appends at the current length and reports x-oss-next-append-position', async () => {
      const first = await client.append('append/log', Buffer.from('hello '));
      assert.equal(String(first.nextAppendPosition), '6');
      const second = await client.append('append/log', Buffer.from('world'), { position: '6' });
      assert.equal(String(second.nextAppendPosition), '11');
      const got = await client.get('append/log');
      assert.equal(got.content.toString(), 'hello world');
      assert.equal((got.res.headers as Record<string, string>)['x-oss-object-type'], 'Appendable');
      assert.equal((got.res.headers as Record<string, string>)['x-oss-next-append-position'], '11');
    });

    it('AppendObject at the wrong position is 409 PositionNotEqualToLength with the right position in a header', async () => {
      await client.append('append/conflict', Buffer.from('abc'));
      const err = await rejection(client.append('append/conflict', Buffer.from('x'), { position: '1' }));
      assert.equal(err.status, 409);
      assert.equal(err.code, 'PositionNotEqualToLength');
      // ali-oss hides the error's headers: ask its request() to accept the 409 to read them.
      const answer = await client.request({
        method: 'POST',
        bucket,
        object: 'append/conflict',
        subres: { append: '', position: 1 },
        content: Buffer.from('x'),
        successStatuses: [409],
      });
      assert.equal(answer.res.headers['x-oss-next-append-position'], '3');
      const fresh = await rejection(client.append('append/new-object', Buffer.from('x'), { position: '5' }));
      assert.equal(fresh.code, 'PositionNotEqualToLength');
      assert.equal((await client.get('append/conflict')).content.toString(), 'abc');
    });

    it('AppendObject to a Normal object is 409 ObjectNotAppendable; PutObject over an Appendable one makes it Normal', async () => {
      await client.put('append/normal', Buffer.from('abc'));
      const err = await rejection(client.append('append/normal', Buffer.from('d'), { position: '3' }));
      assert.equal(err.status, 409);
      assert.equal(err.code, 'ObjectNotAppendable');
      await client.append('append/becomes-normal', Buffer.from('a'));
      await client.put('append/becomes-normal', Buffer.from('b'));
      const head = await client.head('append/becomes-normal');
      assert.equal((head.res.headers as Record<string, string>)['x-oss-object-type'], 'Normal');
    });

    it('conditional GET: If-None-Match with the ETag is 304, If-Match with another is 412', async () => {
      const put = await client.put('conditional/get', Buffer.from('data'));
      const etag = (put.res.headers as Record<string, string>).etag!;
      const notModified = await client.get('conditional/get', { headers: { 'If-None-Match': etag } });
      assert.equal(notModified.res.status, 304);
      const err = await rejection(client.get('conditional/get', { headers: { 'If-Match': '"ABC"' } }));
      assert.equal(err.status, 412);
    });

    it('x-oss-forbid-overwrite: true refuses to replace an object (409 FileAlreadyExists)', async () => {
      await client.put('forbid/once', Buffer.from('1'));
      const err = await rejection(client.put('forbid/once', Buffer.from('2'), { headers: { 'x-oss-forbid-overwrite': 'true' } }));
      assert.equal(err.status, 409);
      assert.equal(err.code, 'FileAlreadyExists');
      assert.equal((await client.get('forbid/once')).content.toString(), '1');
    });

    it('keys with spaces, +, ~, parentheses, % and non-ASCII characters round-trip', async () => {
      const keys = ['odd/a b', 'odd/plus+sign', 'odd/tilde~', 'odd/(paren)', 'odd/100%', 'odd/ünï©ødé', 'odd/a//double'];
      for (const [i, key] of keys.entries()) await client.put(key, Buffer.from(String(i)));
      for (const [i, key] of keys.entries()) assert.equal((await client.get(key)).content.toString(), String(i), key);
      const listed = await client.list({ prefix: 'odd/', 'max-keys': 100 }, {});
      assert.deepEqual(
        listed.objects.map((o) => o.name),
        [...keys].sort(),
      );
    });

    it('an object name of 1024 bytes is InvalidObjectName', async () => {
      const err = await rejection(client.put(`long/${'x'.repeat(1019)}`, Buffer.from('x')));
      assert.equal(err.status, 400);
      assert.equal(err.code, 'InvalidObjectName');
    });

    it('virtual-hosted requests (bucket in the Host header) reach the same bucket', async () => {
      const vhost = makeClient(oss.server(), { version, bucket, style: 'virtual-hosted' });
      await vhost.put('vhost/object.txt', Buffer.from('via host'));
      assert.equal((await client.get('vhost/object.txt')).content.toString(), 'via host');
      const listed = await vhost.list({ prefix: 'vhost/', 'max-keys': 100 }, {});
      assert.deepEqual(
        listed.objects.map((o) => o.name),
        ['vhost/object.txt'],
      );
      await vhost.delete('vhost/object.txt');
      assert.equal((await rejection(client.get('vhost/object.txt'))).code, 'NoSuchKey');
    });
  });
}
