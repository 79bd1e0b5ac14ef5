import assert from 'node:assert/strict';
import {
  ErrorCode,
  InvalidPathError,
  OperationAbortedError,
  PathNotFoundError,
  StorageDriverError,
  isAborted,
  isInvalidPath,
  isPathNotFound,
  isStorageDriverError,
  isStowageError,
} from '@stowage/core';

describe('core: errors', () => {
  it('carry a stable code, the driver name and the path, and name the driver in the message', () => {
    const err = new PathNotFoundError('s3', '/a/b');
    assert.equal(err.code, 'ERR_PATH_NOT_FOUND');
    assert.equal(err.driverName, 's3');
    assert.equal(err.path, '/a/b');
    assert.match(err.message, /^s3: .*\/a\/b/);
    assert.equal(err.name, 'PathNotFoundError');
    assert.ok(err instanceof Error);
  });

  it('guards recognise errors by code, so a copy of core loaded twice still matches', () => {
    const foreign = Object.assign(new Error('from another copy'), { code: ErrorCode.PathNotFound, driverName: 'x' });
    assert.ok(isPathNotFound(foreign));
    assert.ok(isStowageError(foreign));
    assert.ok(!isInvalidPath(foreign));
    assert.ok(!isPathNotFound(new Error('plain')));
    assert.ok(!isPathNotFound(null));
    assert.ok(!isStowageError(Object.assign(new Error('errno'), { code: 'ENOENT' })));
  });

  it('StorageDriverError keeps the cause and says what failed', () => {
    const cause = new Error('socket hang up');
    const err = new StorageDriverError('azure', cause, { operation: 'stat', path: '/x' });
    assert.equal(err.cause, cause);
    assert.ok(isStorageDriverError(err));
    assert.match(err.message, /^azure: stat \/x failed: socket hang up$/);
  });

  it('InvalidPathError shows non-string paths and the reason', () => {
    const err = new InvalidPathError('inmemory', 42, 'path must be a string');
    assert.equal(err.path, '42');
    assert.equal(err.reason, 'path must be a string');
  });

  it("abort errors are recognised whether ours or Node's", () => {
    assert.ok(isAborted(new OperationAbortedError('fs', { operation: 'reader' })));
    assert.equal(new OperationAbortedError('fs').name, 'AbortError');
    const controller = new AbortController();
    controller.abort();
    const nodeAbort = Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
    assert.ok(isAborted(nodeAbort));
    assert.ok(!isAborted(new Error('other')));
  });
});
