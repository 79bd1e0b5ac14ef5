import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { describeSwiftConformance, dropContainer, swiftContainer } from '../helpers/swift-native';

// The Swift driver against a real OpenStack Swift started on 127.0.0.1 by test/services/swift
// (Debian's packages), with v1 auth (tempauth). A fresh container per run, 1 MiB segments.
describe('swift (local Swift, auth v1)', function () {
  let options: SwiftDriverOptions | undefined;

  before(async function () {
    options = await swiftContainer(this, 'conformance');
  });

  after(async () => {
    if (options) await dropContainer(options);
  });

  describeSwiftConformance('swift', () => new SwiftDriver(options!));
});
