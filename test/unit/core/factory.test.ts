import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  InvalidParameterError,
  ParameterReader,
  createDriver,
  firstPartyDriverPackage,
  firstPartyDrivers,
  isInvalidParameter,
  isUnknownDriver,
  registerDriver,
  registeredDrivers,
} from '@stowage/core';
import { InMemoryDriver } from '@stowage/inmemory';

describe('core: factory and parameters', () => {
  it('creates registered drivers by name and lists them', () => {
    const driver = createDriver('inmemory', {});
    assert.ok(driver instanceof InMemoryDriver);
    assert.ok(registeredDrivers().includes('inmemory'));
  });

  it('an unknown name is a typed error listing what is registered', () => {
    assert.throws(
      () => createDriver('nosuch', {}),
      (err: unknown) => isUnknownDriver(err) && /inmemory/.test((err as Error).message),
    );
  });

  it('names the package to import when a first-party driver is not loaded yet', () => {
    // A fresh process: this one has loaded every driver package through other tests.
    const script = "try { require('@stowage/core').createDriver('s3', {}) } catch (err) { process.stdout.write(err.code + ' ' + err.message) }";
    const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.match(output, /^ERR_UNKNOWN_DRIVER .*registered: none.*import @stowage\/s3 to register it/);
  });

  it('every first-party driver name is registered by the package the catalogue names', () => {
    assert.equal(firstPartyDriverPackage('nosuch'), undefined);
    assert.equal(firstPartyDriverPackage('toString'), undefined);
    for (const { name, packageName } of firstPartyDrivers()) {
      assert.equal(firstPartyDriverPackage(name), packageName);
      require(packageName);
      assert.ok(registeredDrivers().includes(name), `${packageName} registers ${name}`);
    }
  });

  it('refuses a second, different factory under a taken name', () => {
    assert.throws(() => registerDriver('inmemory', () => new InMemoryDriver()), isInvalidParameter);
  });

  it('reads distribution-style parameters, case-insensitively and from strings', () => {
    const params = new ParameterReader('filesystem', { RootDirectory: '/srv', maxthreads: '150', secure: 'false', encrypt: true, chunksize: 5 });
    assert.equal(params.string('rootdirectory', '/var/lib/registry'), '/srv');
    assert.equal(params.integer('maxthreads', { default: 100, min: 25 }), 150);
    assert.equal(params.integer('chunksize', { default: 1 }), 5);
    assert.equal(params.integer('missing', { default: 7 }), 7);
    assert.equal(params.boolean('secure', true), false);
    assert.equal(params.boolean('encrypt', false), true);
    assert.equal(params.boolean('missing', true), true);
    assert.equal(params.string('missing'), undefined);
  });

  it('malformed parameters are InvalidParameterError naming driver and parameter', () => {
    const params = new ParameterReader('filesystem', { maxthreads: '10', secure: 'yes', bad: 'x1', obj: {} });
    assert.throws(
      () => params.integer('maxthreads', { default: 100, min: 25 }),
      (err: unknown) => isInvalidParameter(err) && (err as { parameter: string }).parameter === 'maxthreads' && /filesystem/.test((err as Error).message),
    );
    assert.throws(() => params.boolean('secure', true), isInvalidParameter);
    assert.throws(() => params.integer('bad', { default: 1 }), isInvalidParameter);
    assert.throws(() => params.string('obj'), isInvalidParameter);
    assert.throws(() => params.requiredString('bucket'), isInvalidParameter);
  });

  it("optionalInteger parses only; construct renames a constructor's InvalidParameterError to the config parameter", () => {
    const params = new ParameterReader('mydriver', { chunksize: ' 1024 ', size: '10MB', timeout: '5s' });
    assert.equal(params.optionalInteger('chunksize'), 1024);
    assert.equal(params.optionalInteger('missing'), undefined);
    assert.throws(
      () => params.optionalInteger('size'),
      (err: unknown) => isInvalidParameter(err) && err.parameter === 'size',
    );
    const check = (options: { chunkSize: number; timeoutMs?: number }) => {
      if (options.chunkSize < 5000) throw new InvalidParameterError('mydriver', 'chunkSize', `must be at least 5000, got ${options.chunkSize}`);
      if (options.timeoutMs === 0) throw new InvalidParameterError('mydriver', 'timeoutMs', 'must be positive');
      throw new InvalidParameterError('otherdriver', 'chunkSize', 'not ours');
    };
    assert.throws(
      () => params.construct(() => check({ chunkSize: 1024 })),
      (err: unknown) =>
        isInvalidParameter(err) &&
        err.parameter === 'chunksize' &&
        err.driverName === 'mydriver' &&
        err.message === 'mydriver: parameter chunksize: must be at least 5000, got 1024',
    );
    assert.throws(
      () => params.construct(() => check({ chunkSize: 9000, timeoutMs: 0 }), { timeoutMs: 'timeout' }),
      (err: unknown) => isInvalidParameter(err) && err.parameter === 'timeout',
    );
    // Another driver's error (a driver built inside another) passes through unchanged.
    assert.throws(
      () => params.construct(() => check({ chunkSize: 9000 })),
      (err: unknown) => isInvalidParameter(err) && err.parameter === 'chunkSize' && err.driverName === 'otherdriver',
    );
    assert.equal(
      params.construct(() => 'built'),
      'built',
    );
  });
});
