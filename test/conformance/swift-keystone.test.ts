import { MiB } from '@stowage/core';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { KEYSTONE_PROJECT, KEYSTONE_USER, startKeystone, type KeystoneStandIn } from '../services/keystone';
import { describeSwiftConformance, dropContainer, swiftContainer } from '../helpers/swift-native';

// The whole suite once more, authenticated through Keystone v3 (test/services/keystone: a
// stand-in that issues its own tokens and a two-region catalog, and proxies to the local Swift).
// The driver picks RegionTwo's internal endpoint, so every request crosses the token check.
describe('swift (local Swift, through Keystone v3)', function () {
  let keystone: KeystoneStandIn | undefined;
  let options: SwiftDriverOptions | undefined;

  before(async function () {
    const { service, ...v1 } = await swiftContainer(this, 'keystone', { chunkSize: 5 * MiB });
    keystone = await startKeystone(service);
    options = {
      container: v1.container,
      prefix: v1.prefix,
      chunkSize: v1.chunkSize,
      authUrl: keystone.authUrlV3,
      username: KEYSTONE_USER.name,
      password: KEYSTONE_USER.password,
      domain: KEYSTONE_USER.domain.name,
      tenant: KEYSTONE_PROJECT.name,
      region: 'RegionTwo',
      endpointType: 'internal',
    };
  });

  after(async () => {
    if (options) await dropContainer(options);
    await keystone?.close();
  });

  describeSwiftConformance('swift', () => new SwiftDriver(options!));
});
