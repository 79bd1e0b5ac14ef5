import { describeConformance } from '@stowage/conformance';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { dropContainer, swiftContainer } from '../helpers/swift-native';

// The Swift driver against a real OpenStack Swift started on 127.0.0.1 by test/services/swift
// (Debian's packages), with v1 auth (tempauth). A fresh container per run, 1 MiB segments.
describe('swift (local Swift, auth v1)', function () {
  let options: SwiftDriverOptions | undefined;
  const drivers: SwiftDriver[] = [];

  before(async function () {
    options = await swiftContainer(this, 'conformance');
  });

  after(async () => {
    if (options) await dropContainer(options);
    await Promise.all(drivers.map((driver) => driver.destroy()));
  });

  const newDriver = () => {
    const driver = new SwiftDriver(options!);
    drivers.push(driver);
    return driver;
  };

  // 'standard' profile, as for the other network drivers: a 256 MiB large stream.
  describeConformance('swift', async () => newDriver(), {
    profile: 'standard',
    capabilities: { redirect: true },
    newInstance: () => newDriver(),
    leftovers: (driver, prefix) => (driver as SwiftDriver).leftovers(prefix),
    modTimeResolutionMs: 1000,
  });
});
