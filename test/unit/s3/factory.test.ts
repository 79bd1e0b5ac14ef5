import assert from 'node:assert/strict';
import { ErrorCode, createDriver, hasErrorCode, isInvalidParameter, parseGoDuration } from '@stowage/core';
import { DEFAULT_CHUNK_SIZE, S3Driver, s3DriverFactory } from '@stowage/s3';

const base = { bucket: 'b', region: 'us-east-1', accesskey: 'k', secretkey: 's' };

function expectParameterError(fn: () => unknown, parameter: RegExp): void {
  assert.throws(fn, (err: unknown) => hasErrorCode(err, ErrorCode.InvalidParameter) && parameter.test((err as Error).message));
}

describe('s3: factory and parameters', () => {
  it("takes distribution's parameter names and defaults, as strings too", () => {
    const driver = s3DriverFactory({ ...base, chunksize: String(6 * 1024 * 1024), secure: 'false', RootDirectory: '/reg/' });
    assert.equal(driver.chunkSize, 6 * 1024 * 1024);
    assert.equal(driver.layout.key('/docker/registry/v2/blobs'), 'reg/docker/registry/v2/blobs');
    assert.equal(s3DriverFactory(base).chunkSize, DEFAULT_CHUNK_SIZE);
    driver.destroy();
  });

  it("is registered as s3 and as distribution's s3-aws", () => {
    for (const name of ['s3', 's3-aws']) {
      const driver = createDriver(name, base);
      assert.ok(driver instanceof S3Driver, name);
      driver.destroy();
    }
  });

  it('rejects bad parameters with typed errors naming the parameter', () => {
    expectParameterError(() => s3DriverFactory({ ...base, bucket: '' }), /bucket/);
    expectParameterError(() => s3DriverFactory({ ...base, region: undefined }), /region/);
    expectParameterError(() => s3DriverFactory({ ...base, chunksize: 1024 }), /chunksize/);
    expectParameterError(() => s3DriverFactory({ ...base, v4auth: false }), /v4auth/);
    expectParameterError(() => s3DriverFactory({ ...base, secretkey: undefined }), /secretkey/);
    expectParameterError(() => s3DriverFactory({ ...base, keyid: 'arn:kms' }), /keyid/);
    expectParameterError(() => s3DriverFactory({ ...base, multipartcopychunksize: 100 }), /multipartcopychunksize/);
    expectParameterError(() => s3DriverFactory({ ...base, redirect: { expiry: 'soon' } }), /expiry/);
  });

  it('reads redirect expiry as a Go duration', () => {
    assert.equal(parseGoDuration('20m'), 1200);
    assert.equal(parseGoDuration('1h30m'), 5400);
    assert.equal(parseGoDuration('1500ms'), 1.5);
    assert.equal(parseGoDuration('90'), 90);
    assert.equal(parseGoDuration('5 minutes'), undefined);
    const driver = s3DriverFactory({ ...base, redirect: { expiry: '5m' } });
    assert.equal(driver.options.redirectExpirySeconds, 300);
    driver.destroy();
  });

  it("maps keys exactly as distribution's s3-aws driver does", () => {
    // distribution: strings.TrimLeft(strings.TrimRight(rootDirectory, "/") + path, "/")
    const cases: Array<[string, string, string]> = [
      ['', '/a/b', 'a/b'],
      ['/', '/a/b', 'a/b'],
      ['/registry', '/a/b', 'registry/a/b'],
      ['registry/', '/a/b', 'registry/a/b'],
      ['/deep/root//', '/docker/registry/v2/repositories/x/_layers', 'deep/root/docker/registry/v2/repositories/x/_layers'],
    ];
    for (const [rootdirectory, path, key] of cases) {
      const driver = s3DriverFactory({ ...base, rootdirectory });
      assert.equal(driver.layout.key(path), key, `${rootdirectory} + ${path}`);
      assert.equal(driver.layout.pathOf(key), path);
      driver.destroy();
    }
  });

  it('the constructor checks its options, naming them as S3DriverOptions spells them', () => {
    const options = { bucket: 'b', region: 'us-east-1', accessKey: 'k', secretKey: 's' };
    for (const [bad, name] of [
      [{ ...options, bucket: '' }, 'bucket'],
      [{ ...options, region: '' }, 'region'],
      [{ ...options, secretKey: undefined }, 'secretKey'],
      [{ ...options, keyId: 'arn:kms' }, 'keyId'],
      [{ ...options, chunkSize: 1024 }, 'chunkSize'],
      [{ ...options, multipartCopyChunkSize: 100 }, 'multipartCopyChunkSize'],
      [{ ...options, multipartCopyThresholdSize: 6 * 1024 * 1024 * 1024 }, 'multipartCopyThresholdSize'],
    ] as const) {
      assert.throws(
        () => new S3Driver(bad),
        (err: unknown) => isInvalidParameter(err) && err.parameter === name && err.driverName === 's3',
        name,
      );
    }
  });
});
