import assert from 'node:assert/strict';
import { KiB, MiB, createDriver, isInvalidParameter, registeredDrivers } from '@stowage/core';
import { DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, OssDriver, ossDriverFactory } from '@stowage/oss';
import { encryptionHeaders, ossDriverInternals } from '@stowage/oss/internal';

/** The ali-oss options the driver built its client with. */
function clientOptions(driver: OssDriver): Record<string, unknown> & { endpoint: { protocol: string; host: string } } {
  return (ossDriverInternals(driver).client as unknown as { options: Record<string, unknown> & { endpoint: { protocol: string; host: string } } }).options;
}

const REQUIRED = { accesskeyid: 'id', accesskeysecret: 'secret', region: 'oss-cn-hangzhou', bucket: 'registry' };

describe('oss: factory and parameters', () => {
  it('registers itself as "oss" on import, with distribution\'s defaults', () => {
    assert.ok(registeredDrivers().includes('oss'));
    const driver = createDriver('oss', REQUIRED) as OssDriver;
    assert.ok(driver instanceof OssDriver);
    assert.equal(driver.name, 'oss');
    assert.equal(driver.bucket, 'registry');
    assert.equal(driver.chunkSize, 10 * MiB);
    assert.equal(DEFAULT_CHUNK_SIZE, 10 * MiB);
    assert.equal(driver.layout.rootPrefix, '');
    assert.equal(driver.authorizationVersion, 'v1');
    const options = clientOptions(driver);
    // distribution: secure defaults to true, the endpoint is the region's public one, virtual-hosted.
    assert.equal(options.endpoint.protocol, 'https:');
    assert.equal(options.endpoint.host, 'oss-cn-hangzhou.aliyuncs.com');
    assert.equal(options.sldEnable, false);
    assert.equal(options.authorizationV4, false);
    assert.equal(options.stsToken, undefined);
  });

  it('takes every distribution parameter, as strings too (environment overrides), names case-insensitive', () => {
    const driver = createDriver('oss', {
      AccessKeyId: 'id',
      ACCESSKEYSECRET: 'secret',
      region: 'oss-cn-beijing',
      bucket: 'b-1',
      endpoint: 'oss.example.com',
      internal: 'true',
      encrypt: 'true',
      encryptionkeyid: 'kms-key-1',
      secure: 'false',
      chunksize: String(5 * MiB),
      rootdirectory: '/registry/',
    }) as OssDriver;
    assert.equal(driver.chunkSize, 5 * MiB);
    assert.equal(driver.layout.rootPrefix, 'registry/');
    assert.equal(driver.layout.key('/docker/registry/v2/blobs'), 'registry/docker/registry/v2/blobs');
    const options = clientOptions(driver);
    assert.equal(options.endpoint.protocol, 'http:');
    assert.equal(options.endpoint.host, 'oss.example.com');
    assert.equal(options.internal, true);
    assert.deepEqual(ossDriverInternals(driver).store.settings.creationHeaders, {
      'x-oss-server-side-encryption': 'KMS',
      'x-oss-server-side-encryption-key-id': 'kms-key-1',
    });
  });

  it("internal without an endpoint uses the region's -internal host", () => {
    const driver = ossDriverFactory({ ...REQUIRED, internal: true });
    assert.equal(clientOptions(driver).endpoint.host, 'oss-cn-hangzhou-internal.aliyuncs.com');
  });

  it('encrypt alone is AES256; encryptionkeyid needs encrypt', () => {
    assert.deepEqual(encryptionHeaders({ encrypt: true }), { 'x-oss-server-side-encryption': 'AES256' });
    assert.deepEqual(encryptionHeaders({ encrypt: false }), {});
    assert.deepEqual(ossDriverInternals(ossDriverFactory({ ...REQUIRED, encrypt: true })).store.settings.creationHeaders, {
      'x-oss-server-side-encryption': 'AES256',
    });
    assert.throws(
      () => ossDriverFactory({ ...REQUIRED, encryptionkeyid: 'k' }),
      (err: unknown) => isInvalidParameter(err) && err.parameter === 'encryptionkeyid',
    );
  });

  it('V4 signatures, an STS token, path-style addressing and an http endpoint URL', () => {
    const driver = ossDriverFactory({
      ...REQUIRED,
      authorizationversion: 'V4',
      ststoken: 'token-1',
      pathstyle: 'true',
      endpoint: 'http://localhost:9000',
    });
    assert.equal(driver.authorizationVersion, 'v4');
    const options = clientOptions(driver);
    assert.equal(options.authorizationV4, true);
    assert.equal(options.stsToken, 'token-1');
    assert.equal(options.sldEnable, true);
    assert.equal(options.endpoint.protocol, 'http:');
    assert.equal(options.endpoint.host, 'localhost:9000');
    assert.equal(ossDriverFactory({ ...REQUIRED, authorizationversion: 1 }).authorizationVersion, 'v1');
  });

  it("accepts chunk sizes down to OSS's 100 KiB minimum part (distribution insists on 5 MiB)", () => {
    assert.equal(MIN_CHUNK_SIZE, 100 * KiB);
    assert.equal(ossDriverFactory({ ...REQUIRED, chunksize: 100 * KiB }).chunkSize, 100 * KiB);
    assert.equal(ossDriverInternals(ossDriverFactory({ ...REQUIRED, chunksize: '102400' })).uploads.options.partSize, 100 * KiB);
  });

  it('durations: timeout and redirect expiry take seconds or Go durations', () => {
    const driver = ossDriverFactory({ ...REQUIRED, timeout: '2m', redirect: { expiry: '5m' } });
    assert.equal(clientOptions(driver).timeout, 120_000);
    assert.equal(ossDriverFactory({ ...REQUIRED, redirectexpiry: 90 }).options.redirectExpirySeconds, 90);
    assert.equal(driver.options.redirectExpirySeconds, 300);
    assert.equal(ossDriverFactory(REQUIRED).options.redirectExpirySeconds, 1200);
  });

  it('rejects missing and malformed parameters with InvalidParameterError naming the parameter', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ ...REQUIRED, accesskeyid: undefined }, 'accesskeyid'],
      [{ ...REQUIRED, accesskeysecret: '' }, 'accesskeysecret'],
      [{ ...REQUIRED, region: undefined }, 'region'],
      [{ ...REQUIRED, bucket: '' }, 'bucket'],
      [{ ...REQUIRED, bucket: 'Registry' }, 'bucket'],
      [{ ...REQUIRED, bucket: 'ab' }, 'bucket'],
      [{ ...REQUIRED, region: 'cn hangzhou' }, 'region'],
      [{ ...REQUIRED, endpoint: 'http://oss example.com' }, 'endpoint'],
      [{ ...REQUIRED, chunksize: 100 * KiB - 1 }, 'chunksize'],
      [{ ...REQUIRED, chunksize: '10MB' }, 'chunksize'],
      [{ ...REQUIRED, chunksize: 6 * 1024 * MiB }, 'chunksize'],
      [{ ...REQUIRED, secure: 'sometimes' }, 'secure'],
      [{ ...REQUIRED, internal: 'yes' }, 'internal'],
      [{ ...REQUIRED, encrypt: 1.5 }, 'encrypt'],
      [{ ...REQUIRED, authorizationversion: 'v2' }, 'authorizationversion'],
      [{ ...REQUIRED, multipartconcurrency: 0 }, 'multipartconcurrency'],
      [{ ...REQUIRED, multipartcopythresholdsize: 2e9 }, 'multipartcopythresholdsize'],
      [{ ...REQUIRED, maxretries: -1 }, 'maxretries'],
      [{ ...REQUIRED, timeout: 'soon' }, 'timeout'],
      [{ ...REQUIRED, rootdirectory: ['/a'] }, 'rootdirectory'],
      // ali-oss would send the bucket in a made-up aliyuncs.com Host header and refuse to sign URLs.
      [{ ...REQUIRED, endpoint: 'http://127.0.0.1:9000' }, 'endpoint'],
      [{ ...REQUIRED, endpoint: '[::1]:9000' }, 'endpoint'],
    ];
    for (const [parameters, name] of bad) {
      assert.throws(
        () => createDriver('oss', parameters),
        (err: unknown) => isInvalidParameter(err) && err.parameter.toLowerCase() === name && err.driverName === 'oss',
        JSON.stringify(parameters),
      );
    }
  });

  it('the constructor validates its options too', () => {
    const base = { accessKeyId: 'id', accessKeySecret: 'secret', region: 'oss-cn-hangzhou', bucket: 'bucket-1' };
    assert.equal(new OssDriver({ ...base, chunkSize: 100 * KiB }).chunkSize, 100 * KiB);
    for (const options of [
      { ...base, chunkSize: 1000 },
      { ...base, chunkSize: 1.5 * MiB + 0.5 },
      { ...base, bucket: '' },
      { ...base, authorizationVersion: 'v3' as 'v1' },
      { ...base, multipartConcurrency: 0 },
      { ...base, redirectExpirySeconds: 0 },
      { ...base, endpoint: '10.0.0.1' },
    ]) {
      assert.throws(() => new OssDriver(options), isInvalidParameter, JSON.stringify(options));
    }
  });
});
