import assert from 'node:assert/strict';
import { MiB, createDriver, isInvalidParameter, registeredDrivers } from '@stowage/core';
import '@stowage/swift';
import { SwiftDriver } from '@stowage/swift';
import { guessAuthVersion, swiftDriverInternals } from '@stowage/swift/internal';

// createDriver('swift', ...) with distribution's config.yml parameter names. Nothing here talks to
// a server: constructing a driver does not authenticate.
const REQUIRED = { authurl: 'https://keystone.example.com/v3', username: 'registry', password: 'secret', container: 'registry' };

describe('swift: factory and parameters', () => {
  const drivers: SwiftDriver[] = [];
  const build = (parameters: Record<string, unknown>): SwiftDriver => {
    const driver = createDriver('swift', parameters) as SwiftDriver;
    drivers.push(driver);
    return driver;
  };
  const rejects = (parameters: Record<string, unknown>, parameter: string) =>
    assert.throws(
      () => build(parameters),
      (err: unknown) => isInvalidParameter(err) && err.parameter === parameter && err.driverName === 'swift',
      `expected an InvalidParameterError naming ${parameter}`,
    );

  after(async () => {
    await Promise.all(drivers.map((driver) => driver.destroy()));
  });

  it('registers as "swift" with distribution\'s defaults', () => {
    assert.ok(registeredDrivers().includes('swift'));
    const driver = build(REQUIRED);
    assert.ok(driver instanceof SwiftDriver);
    assert.equal(driver.name, 'swift');
    assert.equal(driver.chunkSize, 20 * MiB);
    assert.equal(swiftDriverInternals(driver).container.name, 'registry');
    assert.equal(driver.options.endpointType, 'public');
    assert.equal(driver.options.authVersion, undefined, 'guessed from the URL when not given');
    assert.equal(driver.options.tempUrlContainerKey, false);
    assert.equal(driver.options.tempUrlMethods, undefined);
    assert.equal(driver.options.redirectExpirySeconds, 20 * 60);
    // No prefix: files at `files/...`, as distribution names them.
    assert.equal(driver.layout.objectName('/a/b'), 'files/a/b');
  });

  for (const parameter of ['authurl', 'username', 'password', 'container']) {
    it(`requires ${parameter}`, () => {
      const parameters: Record<string, unknown> = { ...REQUIRED };
      delete parameters[parameter];
      rejects(parameters, parameter);
      rejects({ ...REQUIRED, [parameter]: '' }, parameter);
    });
  }

  it('chunksize: at least 1 MiB, numbers or strings', () => {
    rejects({ ...REQUIRED, chunksize: MiB - 1 }, 'chunksize');
    rejects({ ...REQUIRED, chunksize: '1048575' }, 'chunksize');
    rejects({ ...REQUIRED, chunksize: '5MB' }, 'chunksize');
    assert.equal(build({ ...REQUIRED, chunksize: MiB }).chunkSize, MiB);
    assert.equal(build({ ...REQUIRED, chunksize: '5242880' }).chunkSize, 5 * MiB);
  });

  it('authversion: 1, 2 or 3 only', () => {
    rejects({ ...REQUIRED, authversion: 4 }, 'authversion');
    rejects({ ...REQUIRED, authversion: '4' }, 'authversion');
    rejects({ ...REQUIRED, authversion: 0 }, 'authversion');
    rejects({ ...REQUIRED, authversion: 'v3' }, 'authversion');
    assert.equal(build({ ...REQUIRED, authversion: 2 }).options.authVersion, 2);
    assert.equal(build({ ...REQUIRED, authversion: '1' }).options.authVersion, 1);
  });

  it('endpointtype: public, internal or admin (any case)', () => {
    rejects({ ...REQUIRED, endpointtype: 'foo' }, 'endpointtype');
    assert.equal(build({ ...REQUIRED, endpointtype: 'internal' }).options.endpointType, 'internal');
    assert.equal(build({ ...REQUIRED, endpointtype: 'Admin' }).options.endpointType, 'admin');
  });

  it('tempurlmethods: a YAML list or a comma-separated string, upper-cased', async () => {
    assert.deepEqual(build({ ...REQUIRED, tempurlmethods: ['get', 'HEAD'] }).options.tempUrlMethods, ['GET', 'HEAD']);
    assert.deepEqual(build({ ...REQUIRED, tempurlmethods: 'GET,HEAD' }).options.tempUrlMethods, ['GET', 'HEAD']);
    assert.deepEqual(build({ ...REQUIRED, tempurlmethods: 'GET, PUT' }).options.tempUrlMethods, ['GET', 'PUT']);
    rejects({ ...REQUIRED, tempurlmethods: ['GET', 7] }, 'tempurlmethods');
    rejects({ ...REQUIRED, tempurlmethods: 'GET;HEAD' }, 'tempurlmethods');
    // A method left out gets no URL (answered before any request, so no server is needed).
    const getOnly = build({ ...REQUIRED, secretkey: 'k', tempurlmethods: 'GET' });
    assert.equal(await getOnly.redirectURL('/a', { method: 'HEAD' }), null);
  });

  it('string values as environment variables give them', () => {
    const driver = build({
      ...REQUIRED,
      insecureskipverify: 'true',
      tempurlcontainerkey: 'TRUE',
      chunksize: '5242880',
      authversion: '3',
      segmentconcurrency: '2',
      copyconcurrency: '3',
      redirect: { expiry: '5m' },
      prefix: 'registry-prefix',
      rootdirectory: '/root/dir',
      secretkey: 'k',
      accesskey: 'access',
      tenantid: 't-1',
      region: 'RegionOne',
    });
    assert.equal(driver.options.insecureSkipVerify, true);
    assert.equal(driver.options.tempUrlContainerKey, true);
    assert.equal(driver.chunkSize, 5 * MiB);
    assert.equal(driver.options.authVersion, 3);
    assert.equal(driver.segmentConcurrency, 2);
    assert.equal(driver.options.copyConcurrency, 3);
    assert.equal(driver.options.redirectExpirySeconds, 300);
    assert.equal(driver.options.secretKey, 'k');
    assert.equal(driver.options.accessKey, 'access');
    assert.equal(driver.options.tenantId, 't-1');
    assert.equal(driver.options.region, 'RegionOne');
    assert.equal(driver.layout.objectName('/a'), 'registry-prefix/files/root/dir/a');
    rejects({ ...REQUIRED, insecureskipverify: 'yes' }, 'insecureskipverify');
    rejects({ ...REQUIRED, redirectexpiry: 'soon' }, 'redirectexpiry');
    assert.equal(build({ ...REQUIRED, redirectexpiry: '90s' }).options.redirectExpirySeconds, 90);
  });

  it('an application credential or a token stands in for username and password', () => {
    const appCredential = build({ authurl: REQUIRED.authurl, container: 'c', applicationcredentialid: 'id', applicationcredentialsecret: 's' });
    assert.equal(appCredential.options.username, undefined);
    assert.equal(appCredential.options.applicationCredentialSecret, 's');
    assert.equal(build({ authurl: REQUIRED.authurl, container: 'c', token: 'tok' }).options.token, 'tok');
  });

  it('guesses the auth version from the URL', () => {
    assert.equal(guessAuthVersion('http://127.0.0.1:8080/auth/v1.0'), 1);
    assert.equal(guessAuthVersion('https://swift.example.com/auth/v1.0/'), 1);
    assert.equal(guessAuthVersion('https://keystone.example.com:5000/v2.0'), 2);
    assert.equal(guessAuthVersion('https://keystone.example.com:5000/v2.0/'), 2);
    assert.equal(guessAuthVersion('https://keystone.example.com/identity/v3'), 3);
    assert.equal(guessAuthVersion('https://keystone.example.com/identity/v3/'), 3);
  });

  it('the constructor checks its options, naming them as SwiftDriverOptions spells them', () => {
    const options = { authUrl: 'https://keystone.example.com/v3', username: 'registry', password: 'secret', container: 'registry' };
    for (const [bad, name] of [
      [{ ...options, authUrl: 'keystone' }, 'authUrl'],
      [{ ...options, password: undefined }, 'password'],
      [{ ...options, container: 'a/b' }, 'container'],
      [{ ...options, authVersion: 4 as 3 }, 'authVersion'],
      [{ ...options, endpointType: 'private' as 'public' }, 'endpointType'],
      [{ ...options, chunkSize: 1024 }, 'chunkSize'],
    ] as const) {
      assert.throws(
        () => new SwiftDriver(bad),
        (err: unknown) => isInvalidParameter(err) && err.parameter === name && err.driverName === 'swift',
        name,
      );
    }
  });
});
