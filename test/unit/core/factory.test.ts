import assert from 'node:assert/strict';
import { ParameterReader, createDriver, isInvalidParameter, isUnknownDriver, registerDriver, registeredDrivers } from '@stowage/core';
import { InMemoryDriver } from '@stowage/inmemory';

describe('core: factory and parameters', () => {
  it('creates registered drivers by name and lists them', () => {
    const driver = createDriver('inmemory', {});
    assert.ok(driver instanceof InMemoryDriver);
    assert.ok(registeredDrivers().includes('inmemory'));
  });

  it('an unknown name is a typed error listing what is registered', () => {
    assert.throws(() => createDriver('nosuch', {}), (err: unknown) => isUnknownDriver(err) && /inmemory/.test((err as Error).message));
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
    assert.throws(() => params.integer('maxthreads', { default: 100, min: 25 }), (err: unknown) => isInvalidParameter(err) && (err as { parameter: string }).parameter === 'maxthreads' && /filesystem/.test((err as Error).message));
    assert.throws(() => params.boolean('secure', true), isInvalidParameter);
    assert.throws(() => params.integer('bad', { default: 1 }), isInvalidParameter);
    assert.throws(() => params.string('obj'), isInvalidParameter);
    assert.throws(() => params.requiredString('bucket'), isInvalidParameter);
  });
});
