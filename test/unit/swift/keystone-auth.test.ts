import assert from 'node:assert/strict';
import { isInvalidParameter, isStorageDriverError } from '@stowage/core';
import { SwiftDriver, SwiftHttpError, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { KEYSTONE_APPLICATION_CREDENTIAL, KEYSTONE_PROJECT, KEYSTONE_TRUST, KEYSTONE_USER, startKeystone, type KeystoneStandIn } from '../../services/keystone';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';

/**
 * Keystone v2/v3 auth against the stand-in in test/services/keystone, which issues its own
 * tokens (with expiry) and a catalog of 2 regions x 3 interfaces, each endpoint a distinct URL
 * proxied to the real local Swift, so the endpoint a driver picked can be counted.
 */
describe('swift: Keystone auth (stand-in)', function () {
  let keystone: KeystoneStandIn;
  let base: Pick<SwiftDriverOptions, 'container' | 'prefix'>;
  const drivers: SwiftDriver[] = [];

  before(async function () {
    const { service, container, prefix } = await swiftContainer(this, 'keystone-auth');
    base = { container, prefix };
    keystone = await startKeystone(service);
  });

  after(async () => {
    await Promise.all(drivers.map((d) => d.destroy()));
    if (base) await dropContainer({ ...v3Password(), ...base });
    await keystone?.close();
  });

  const v3Password = (): SwiftDriverOptions => ({
    ...base,
    authUrl: keystone.authUrlV3,
    username: KEYSTONE_USER.name,
    password: KEYSTONE_USER.password,
    domain: KEYSTONE_USER.domain.name,
    tenant: KEYSTONE_PROJECT.name,
  });

  const make = (options: SwiftDriverOptions) => {
    const driver = new SwiftDriver(options);
    drivers.push(driver);
    return driver;
  };

  /** A put+get round trip, returning which endpoints served it. */
  async function roundTrip(driver: SwiftDriver, path: string): Promise<string[]> {
    const before = { ...keystone.stats.proxied };
    await driver.putContent(path, Buffer.from(path));
    assert.equal((await driver.getContent(path)).toString(), path);
    await driver.delete(path);
    return Object.keys(before).filter((key) => keystone.stats.proxied[key]! > before[key]!);
  }

  it('v3 password, project by name: the public endpoint of the configured region', async () => {
    assert.deepEqual(await roundTrip(make({ ...v3Password(), region: 'RegionOne' }), '/k/v3-name'), ['RegionOne/public']);
  });

  it('v3 password by domain id, project by id, admin interface of RegionTwo', async () => {
    const options: SwiftDriverOptions = {
      ...base,
      authUrl: keystone.authUrlV3,
      username: KEYSTONE_USER.name,
      password: KEYSTONE_USER.password,
      domainId: KEYSTONE_USER.domain.id,
      tenantId: KEYSTONE_PROJECT.id,
      region: 'RegionTwo',
      endpointType: 'admin',
    };
    assert.deepEqual(await roundTrip(make(options), '/k/v3-ids'), ['RegionTwo/admin']);
  });

  it('v3 application credential, by id and by name', async () => {
    const byId: SwiftDriverOptions = {
      ...base,
      authUrl: keystone.authUrlV3,
      applicationCredentialId: KEYSTONE_APPLICATION_CREDENTIAL.id,
      applicationCredentialSecret: KEYSTONE_APPLICATION_CREDENTIAL.secret,
      region: 'RegionTwo',
      endpointType: 'internal',
    };
    assert.deepEqual(await roundTrip(make(byId), '/k/ac-id'), ['RegionTwo/internal']);
    const byName: SwiftDriverOptions = {
      ...base,
      authUrl: keystone.authUrlV3,
      username: KEYSTONE_USER.name,
      domain: KEYSTONE_USER.domain.name,
      applicationCredentialName: KEYSTONE_APPLICATION_CREDENTIAL.name,
      applicationCredentialSecret: KEYSTONE_APPLICATION_CREDENTIAL.secret,
      region: 'RegionOne',
    };
    assert.deepEqual(await roundTrip(make(byName), '/k/ac-name'), ['RegionOne/public']);
  });

  it('v3 trust scope and v3 token exchange', async () => {
    const trust: SwiftDriverOptions = {
      ...base,
      authUrl: keystone.authUrlV3,
      username: KEYSTONE_USER.name,
      password: KEYSTONE_USER.password,
      domain: KEYSTONE_USER.domain.name,
      trustId: KEYSTONE_TRUST.id,
      region: 'RegionOne',
    };
    assert.deepEqual(await roundTrip(make(trust), '/k/trust'), ['RegionOne/public']);
    const issued = await swiftDriverInternals(make(v3Password())).client.session.credentials();
    const exchange: SwiftDriverOptions = {
      ...base,
      authUrl: keystone.authUrlV3,
      token: issued.token,
      tenant: KEYSTONE_PROJECT.name,
      domain: KEYSTONE_USER.domain.name,
      region: 'RegionTwo',
    };
    assert.deepEqual(await roundTrip(make(exchange), '/k/token'), ['RegionTwo/public']);
  });

  it('v2 password with a tenant name, internal URL', async () => {
    const before = keystone.stats.issued.v2;
    const options: SwiftDriverOptions = {
      ...base,
      authUrl: keystone.authUrlV2,
      username: KEYSTONE_USER.name,
      password: KEYSTONE_USER.password,
      tenant: KEYSTONE_PROJECT.name,
      region: 'RegionTwo',
      endpointType: 'internal',
    };
    assert.deepEqual(await roundTrip(make(options), '/k/v2'), ['RegionTwo/internal']);
    assert.equal(keystone.stats.issued.v2, before + 1);
  });

  it('a region the catalog lacks is an InvalidParameterError that names the regions offered', async () => {
    const driver = make({ ...v3Password(), region: 'RegionNine' });
    await assert.rejects(driver.stat('/k/x'), (err: unknown) => {
      assert.ok(isStorageDriverError(err) || isInvalidParameter(err), String(err));
      assert.match(String(err), /RegionNine.*RegionOne, RegionTwo|RegionOne.*RegionTwo/s);
      return true;
    });
  });

  it('a wrong password fails with the 401 as cause, naming the driver', async () => {
    const driver = make({ ...v3Password(), password: 'wrong' });
    await assert.rejects(driver.stat('/k/x'), (err: unknown) => {
      assert.ok(isStorageDriverError(err));
      assert.equal(err.driverName, 'swift');
      assert.ok(err.cause instanceof SwiftHttpError && err.cause.status === 401, String(err.cause));
      return true;
    });
  });

  it('re-authenticates once when the token expires, even with many requests in flight', async () => {
    const driver = make({ ...v3Password(), region: 'RegionTwo' });
    await driver.putContent('/k/expiry/seed', Buffer.from('x'));
    const issuedBefore = keystone.stats.issued.v3;
    const rejectedBefore = keystone.stats.rejected;
    keystone.expireAll();
    // 16 requests meet the dead token at once: each gets a 401, but only one new token is fetched.
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => driver.putContent(`/k/expiry/f${i}`, Buffer.from(String(i)))));
    assert.equal(results.length, 16);
    assert.equal(keystone.stats.issued.v3, issuedBefore + 1, 'one re-authentication');
    assert.ok(keystone.stats.rejected > rejectedBefore, 'the stand-in refused the expired token');
    assert.deepEqual((await driver.list('/k/expiry')).length, 17);
    await driver.delete('/k/expiry');
  });

  it('renews a short-lived token after half its life, before it is refused', async () => {
    keystone.setTokenTtl(2);
    try {
      const driver = make({ ...v3Password(), region: 'RegionOne' });
      await driver.putContent('/k/renew', Buffer.from('a'));
      const issued = keystone.stats.issued.v3;
      const rejected = keystone.stats.rejected;
      await driver.getContent('/k/renew'); // well inside the first second: the same token
      assert.equal(keystone.stats.issued.v3, issued);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      await driver.getContent('/k/renew'); // past half its life: renewed first, never refused
      assert.equal(keystone.stats.issued.v3, issued + 1);
      assert.equal(keystone.stats.rejected, rejected);
      await driver.delete('/k/renew');
    } finally {
      keystone.setTokenTtl(3600);
    }
  });
});
