import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createDriver, isInvalidParameter, registeredDrivers } from '@stowage/core';
import { DEFAULT_MAX_THREADS, DEFAULT_ROOT_DIRECTORY, FilesystemDriver, MIN_MAX_THREADS, filesystemDriverFactory } from '@stowage/filesystem';
import { useTempRoot } from './helpers';

describe('filesystem: factory and parameters', () => {
  const tmp = useTempRoot();

  it('registers itself as "filesystem" on import, with distribution\'s defaults', () => {
    assert.ok(registeredDrivers().includes('filesystem'));
    const driver = createDriver('filesystem', {}) as FilesystemDriver;
    assert.ok(driver instanceof FilesystemDriver);
    assert.equal(driver.name, 'filesystem');
    assert.equal(driver.rootDirectory, DEFAULT_ROOT_DIRECTORY);
    assert.equal(DEFAULT_ROOT_DIRECTORY, '/var/lib/registry');
    assert.equal(driver.maxThreads, DEFAULT_MAX_THREADS);
    assert.equal(DEFAULT_MAX_THREADS, 100);
    assert.equal(driver.syncOnCommit, true);
  });

  it('takes config.yml parameters, as strings too (environment overrides), names case-insensitive', () => {
    const driver = createDriver('filesystem', { rootdirectory: tmp.root, maxthreads: '40', SyncOnCommit: 'false' }) as FilesystemDriver;
    assert.equal(driver.rootDirectory, tmp.root);
    assert.equal(driver.maxThreads, 40);
    assert.equal(driver.syncOnCommit, false);
    assert.equal(filesystemDriverFactory({ RootDirectory: join(tmp.root, 'x'), maxthreads: 64 }).maxThreads, 64);
  });

  it('raises maxthreads below 25 to 25, as distribution does', () => {
    assert.equal(MIN_MAX_THREADS, 25);
    for (const value of [1, '3', 0, -5, 24]) {
      assert.equal(filesystemDriverFactory({ rootdirectory: tmp.root, maxthreads: value }).maxThreads, 25, `maxthreads ${value}`);
    }
  });

  it('rejects malformed parameters with InvalidParameterError naming the parameter', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ maxthreads: 'lots' }, 'maxthreads'],
      [{ maxthreads: 2.5 }, 'maxthreads'],
      [{ maxthreads: '1e3' }, 'maxthreads'],
      [{ maxthreads: {} }, 'maxthreads'],
      [{ rootdirectory: '' }, 'rootdirectory'],
      [{ rootdirectory: '   ' }, 'rootdirectory'],
      [{ rootdirectory: ['/a'] }, 'rootdirectory'],
      [{ synconcommit: 'sometimes' }, 'syncOnCommit'],
    ];
    for (const [parameters, name] of bad) {
      assert.throws(
        () => createDriver('filesystem', parameters),
        (err: unknown) => isInvalidParameter(err) && err.parameter.toLowerCase() === name.toLowerCase() && err.driverName === 'filesystem',
        JSON.stringify(parameters),
      );
    }
  });

  it('the constructor validates its options too (any maxthreads >= 1)', () => {
    assert.equal(new FilesystemDriver({ rootDirectory: tmp.root, maxThreads: 2 }).maxThreads, 2);
    for (const maxthreads of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new FilesystemDriver({ rootDirectory: tmp.root, maxThreads: maxthreads }), isInvalidParameter, String(maxthreads));
    }
    assert.throws(() => new FilesystemDriver({ rootDirectory: '' }), isInvalidParameter);
  });
});
