import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { cephSwiftContainer } from '../helpers/ceph';
import { dropContainer, describeSwiftConformance } from '../helpers/swift-native';

// The Swift driver against Ceph RGW (radosgw's Swift API, v1 auth), on a single-node cluster
// started on 127.0.0.1 by test/services/ceph. A fresh container per run, 1 MiB segments.
describe('swift on Ceph RGW', function () {
  let options: SwiftDriverOptions | undefined;

  before(async function () {
    options = await cephSwiftContainer(this, 'conformance');
  });

  after(async () => {
    if (options) await dropContainer(options);
  });

  describeSwiftConformance('swift', () => new SwiftDriver(options!));
});
