import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ErrorCode, isStorageDriverError, isTransient, readAll } from '@stowage/core';
import { isOssInvalidRange, isOssNotFound, isTransientOssError, mapOssError, parseContentRange, skipBytes } from '@stowage/oss/internal';

/** An error shaped as ali-oss builds them from OSS's XML error body (client.js requestError). */
function ossError(code: string, status: number): Error {
  const err = new Error(`${code} message`) as Error & { code: string; status: number };
  err.name = `${code}Error`;
  err.code = code;
  err.status = status;
  return err;
}

/** ali-oss's shape for a failure without a response: status -1 (network) or -2 (timeout), code = name. */
function networkError(name: string, status: -1 | -2): Error {
  const err = new Error(`${name} happened`) as Error & { code: string; status: number };
  err.name = name;
  err.code = name;
  err.status = status;
  return err;
}

describe('oss: error mapping and retry classification', () => {
  const context = { operation: 'getContent', path: '/a/b' };

  it('NoSuchKey (GET, and the bare 404 of a HEAD) and NoSuchUpload are PathNotFoundError naming the driver and path', () => {
    for (const err of [ossError('NoSuchKey', 404), ossError('NoSuchUpload', 404), Object.assign(new Error('Object not exists'), { status: 404 })]) {
      const mapped = mapOssError('oss', err, context) as Error & { code: string; driverName: string; path: string; cause: unknown };
      assert.equal(mapped.code, ErrorCode.PathNotFound, err.message);
      assert.equal(mapped.driverName, 'oss');
      assert.equal(mapped.path, '/a/b');
      assert.equal(mapped.cause, err, 'the ali-oss error is kept as cause');
    }
  });

  it('a missing bucket, denied access and bad signatures are left to the base (StorageDriverError); server errors are transient StorageDriverErrors', () => {
    for (const err of [ossError('NoSuchBucket', 404), ossError('AccessDenied', 403), ossError('SignatureDoesNotMatch', 403)]) {
      assert.equal(mapOssError('oss', err, context), undefined, err.message);
    }
    const server = ossError('InternalError', 500);
    const mapped = mapOssError('oss', server, context);
    assert.ok(isStorageDriverError(mapped) && isTransient(mapped), 'a 500 is a transient StorageDriverError');
    assert.equal(mapped.cause, server);
    assert.equal(isOssNotFound(ossError('NoSuchBucket', 404)), false);
    assert.equal(mapOssError('oss', ossError('NoSuchKey', 404), { operation: 'purgeUploads' }), undefined, 'no path, no PathNotFoundError');
  });

  it('InvalidRange is recognised by code and by status 416', () => {
    assert.ok(isOssInvalidRange(ossError('InvalidRange', 416)));
    assert.ok(isOssInvalidRange({ status: 416 }));
    assert.ok(!isOssInvalidRange(ossError('NoSuchKey', 404)));
  });

  it('retries network failures, timeouts, 5xx and throttling; never client errors', () => {
    const transient = [
      networkError('RequestError', -1),
      networkError('ResponseTimeoutError', -2),
      networkError('ConnectionTimeoutError', -2),
      ossError('InternalError', 500),
      ossError('ServiceUnavailable', 503),
      ossError('SlowDown', 503),
      { status: 502 },
      { status: 429 },
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    ];
    for (const err of transient) assert.equal(isTransientOssError(err), true, JSON.stringify(err));
    const final = [
      ossError('NoSuchKey', 404),
      ossError('AccessDenied', 403),
      ossError('InvalidArgument', 400),
      ossError('EntityTooSmall', 400),
      ossError('InvalidPart', 400),
      new TypeError('bad call'),
      'not even an error',
    ];
    for (const err of final) assert.equal(isTransientOssError(err), false, String(err));
  });
});

describe('oss: range helpers', () => {
  it("parseContentRange reads OSS's Content-Range", () => {
    assert.deepEqual(parseContentRange('bytes 5-9/10'), { start: 5, end: 9, total: 10 });
    assert.deepEqual(parseContentRange(['bytes 0-0/*']), { start: 0, end: 0 });
    assert.equal(parseContentRange(undefined), undefined);
    assert.equal(parseContentRange('items 1-2/3'), undefined);
  });

  it('skipBytes drops exactly the first n bytes across chunk boundaries', async () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    for (const skip of [0, 1, 9, 10, 11, 55, 99, 100]) {
      const chunks = [data.subarray(0, 10), data.subarray(10, 11), data.subarray(11, 60), data.subarray(60)];
      const out = await readAll(Readable.from(chunks).pipe(skipBytes(skip)));
      assert.deepEqual(out, data.subarray(skip), `skip ${skip}`);
    }
  });
});
