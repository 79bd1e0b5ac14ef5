/**
 * isTransient and the drivers' error mappings that feed it: each mapping marks 5xx, throttling,
 * timeouts and network failures transient, and leaves client errors and missing paths final.
 */
import assert from 'node:assert/strict';
import {
  ErrorCode,
  OperationAbortedError,
  PathNotFoundError,
  StorageDriverError,
  hasErrorCode,
  isTransient,
  isTransientHttpStatus,
  isTransientNetworkError,
} from '@stowage/core';
import { mapS3Error } from '@stowage/s3/internal';
import { mapAzureError } from '@stowage/azure/internal';
import { mapOssError } from '@stowage/oss/internal';
import { mapSwiftError } from '@stowage/swift/internal';
import { SwiftHttpError } from '@stowage/swift';
import { FilesystemDriver } from '@stowage/filesystem';
import type { ErrorContext } from '@stowage/core';

const context = { operation: 'stat', path: '/a/b' };

/** The filesystem driver's own mapping, reached through a subclass rather than a cast. */
class MappingProbe extends FilesystemDriver {
  map(err: unknown, ctx: ErrorContext): Error | undefined {
    return this._mapError(err, ctx);
  }
}

function errno(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

function assertTransient(mapped: Error | undefined, cause: unknown, what: string): void {
  assert.ok(mapped, `${what}: mapped`);
  assert.ok(hasErrorCode(mapped, ErrorCode.StorageDriver), `${what}: a StorageDriverError, got ${mapped?.name}`);
  assert.ok(isTransient(mapped), `${what}: transient`);
  assert.equal(mapped.cause, cause, `${what}: the original is the cause`);
  assert.equal((mapped as StorageDriverError).path, '/a/b');
}

function assertFinal(mapped: Error | undefined, what: string): void {
  assert.ok(!isTransient(mapped), `${what}: not transient`);
}

describe('middleware: transient errors', () => {
  it('isTransient is true only for StorageDriverErrors marked transient, across copies of core (by code and flag)', () => {
    assert.equal(isTransient(new StorageDriverError('s3', new Error('x'), { operation: 'stat', transient: true })), true);
    assert.equal(isTransient(new StorageDriverError('s3', new Error('x'), { operation: 'stat' })), false);
    assert.equal(new StorageDriverError('s3', new Error('x')).transient, false);
    assert.equal(isTransient(new PathNotFoundError('s3', '/a')), false);
    assert.equal(isTransient(new OperationAbortedError('s3', { operation: 'stat' })), false);
    assert.equal(isTransient(Object.assign(new Error('raw'), { transient: true })), false, 'an unmapped error never counts');
    // What another copy of core would build: the same code and flag on a plain object.
    assert.equal(isTransient({ code: 'ERR_STORAGE_DRIVER', driverName: 's3', transient: true }), true);
    assert.equal(isTransient(undefined), false);
    assert.equal(isTransient('text'), false);
  });

  it('the shared definitions: 408, 429 and 5xx but 501/505 are transient statuses; resets, refusals and timeouts transient network errors, never an abort', () => {
    for (const status of [408, 429, 500, 502, 503, 504, 507, 599]) assert.equal(isTransientHttpStatus(status), true, String(status));
    for (const status of [undefined, 200, 400, 401, 403, 404, 409, 412, 416, 501, 505]) assert.equal(isTransientHttpStatus(status), false, String(status));
    for (const code of [
      'ECONNRESET',
      'ECONNREFUSED',
      'EPIPE',
      'ETIMEDOUT',
      'EAI_AGAIN',
      'UND_ERR_SOCKET',
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
    ]) {
      assert.equal(isTransientNetworkError(errno(code)), true, code);
    }
    assert.equal(isTransientNetworkError(new Error('socket hang up')), true);
    assert.equal(isTransientNetworkError(Object.assign(new Error('took too long'), { name: 'TimeoutError' })), true);
    assert.equal(isTransientNetworkError(new Error('fetch failed', { cause: errno('ECONNREFUSED') })), true, 'found through cause');
    for (const err of [
      errno('ENOENT'),
      errno('ENOTFOUND'),
      errno('EACCES'),
      new Error('bad'),
      errno('ABORT_ERR'),
      Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ECONNRESET' }),
    ]) {
      assert.equal(isTransientNetworkError(err), false, err.message);
    }
  });

  it('s3: 5xx, SlowDown/throttling codes, $retryable, timeouts and resets are transient; 4xx and NoSuchKey are not', () => {
    const s3 = (name: string, status?: number, extra: object = {}) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });
    for (const err of [
      s3('InternalError', 500),
      s3('ServiceUnavailable', 503),
      s3('SlowDown', 503),
      s3('Unknown', 502),
      s3('ThrottlingException'),
      s3('RequestTimeout', 400),
      s3('Weird', 400, { $retryable: { throttling: true } }),
      s3('TimeoutError'),
      errno('ECONNRESET', 'socket hang up'),
    ]) {
      assertTransient(mapS3Error('s3', err, context), err, `s3 ${err.name} ${err.message}`);
    }
    for (const err of [s3('AccessDenied', 403), s3('InvalidRange', 416), s3('NoSuchBucket', 404), s3('PreconditionFailed', 412), errno('ENOTFOUND')]) {
      assertFinal(mapS3Error('s3', err, context), `s3 ${err.name}`);
    }
    assert.ok(hasErrorCode(mapS3Error('s3', s3('NoSuchKey', 404), context), ErrorCode.PathNotFound));
  });

  it('azure: 5xx, ServerBusy/OperationTimedOut, REQUEST_SEND_ERROR and resets are transient; 4xx and BlobNotFound are not', () => {
    const rest = (statusCode: number | undefined, code?: string) => Object.assign(new Error(code ?? 'RestError'), { name: 'RestError', statusCode, code });
    for (const err of [
      rest(500, 'InternalError'),
      rest(503, 'ServerBusy'),
      rest(500, 'OperationTimedOut'),
      rest(429),
      rest(undefined, 'REQUEST_SEND_ERROR'),
      rest(undefined, 'ECONNREFUSED'),
      errno('ETIMEDOUT'),
    ]) {
      assertTransient(mapAzureError(err, context), err, `azure ${err.message}`);
    }
    for (const err of [rest(403, 'AuthenticationFailed'), rest(409, 'InvalidBlobType'), rest(412, 'ConditionNotMet'), rest(501, 'NotImplemented')]) {
      assertFinal(mapAzureError(err, context), `azure ${err.message}`);
    }
    assert.ok(hasErrorCode(mapAzureError(rest(404, 'BlobNotFound'), context), ErrorCode.PathNotFound));
  });

  it('oss: status -1/-2 (network, timeout), 5xx, 429 and throttling codes are transient, also without a path; 4xx are not', () => {
    const oss = (code: string, status?: number) => Object.assign(new Error(code), { code, status });
    for (const err of [
      oss('RequestError', -1),
      oss('ConnectionTimeoutError', -2),
      oss('InternalError', 500),
      oss('ServiceUnavailable', 503),
      oss('Throttling', 429),
      oss('ECONNRESET'),
    ]) {
      assertTransient(mapOssError('oss', err, context), err, `oss ${err.message}`);
    }
    const noPath = mapOssError('oss', oss('InternalError', 500), { operation: 'purgeUploads' });
    assert.ok(isTransient(noPath), 'purgeUploads (no path)');
    for (const err of [oss('AccessDenied', 403), oss('NoSuchBucket', 404), oss('InvalidArgument', 400)])
      assertFinal(mapOssError('oss', err, context), `oss ${err.message}`);
  });

  it('swift: 5xx, 429, 498 (rate limited) and resets are transient; 401, 403, 409 and 404 are not', () => {
    for (const status of [500, 502, 503, 504, 429, 498, 408]) {
      const err = new SwiftHttpError(status, 'GET', 'c/o');
      assertTransient(mapSwiftError('swift', err, context), err, `swift ${status}`);
    }
    for (const err of [errno('ECONNRESET'), errno('UND_ERR_SOCKET')]) assertTransient(mapSwiftError('swift', err, context), err, `swift ${err.message}`);
    for (const status of [401, 403, 409, 412, 501]) assertFinal(mapSwiftError('swift', new SwiftHttpError(status, 'PUT', 'c/o'), context), `swift ${status}`);
    assert.ok(hasErrorCode(mapSwiftError('swift', new SwiftHttpError(404, 'GET', 'c/o'), context), ErrorCode.PathNotFound));
  });

  it('filesystem: busy resources, exhausted descriptors, EINTR and timeouts are transient; a missing path, a full disk and EACCES are not', () => {
    const probe = new MappingProbe({ rootDirectory: '/nonexistent/stowage-mapping-probe' });
    for (const code of ['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE', 'ETIMEDOUT']) {
      const err = errno(code);
      assertTransient(probe.map(err, context), err, `filesystem ${code}`);
    }
    for (const code of ['ENOENT', 'ENOSPC', 'EISDIR']) assertFinal(probe.map(errno(code), context), `filesystem ${code}`);
    assert.equal(probe.map(errno('EACCES'), context), undefined, 'EACCES stays a plain StorageDriverError, not transient');
  });
});
