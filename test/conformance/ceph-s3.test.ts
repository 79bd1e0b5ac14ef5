import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { describeConformance } from '@stowage/conformance';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { cephS3Bucket } from '../helpers/ceph';

// The S3 driver against Ceph RGW (radosgw's S3 API), on a single-node cluster started on
// 127.0.0.1 by test/services/ceph (Debian's packages). A fresh bucket and a random rootdirectory per run.
describe('s3 on Ceph RGW', function () {
  let options: S3DriverOptions | undefined;
  const drivers: S3Driver[] = [];

  before(async function () {
    options = await cephS3Bucket(this, 'conformance');
    drivers.push(new S3Driver(options));
  });

  after(async () => {
    if (options && drivers[0]) {
      // Every test cleans up after itself, so the bucket is empty unless a test failed.
      await drivers[0].client.send(new DeleteBucketCommand({ Bucket: options.bucket })).catch((err) => {
        console.log(`      (bucket ${options!.bucket} left in place: ${String(err)})`);
      });
    }
    for (const driver of drivers) driver.destroy();
  });

  const newDriver = () => {
    const driver = new S3Driver(options!);
    drivers.push(driver);
    return driver;
  };

  describeConformance('s3', async () => newDriver(), {
    profile: 'standard',
    newInstance: () => newDriver(),
    // S3 LastModified has one-second resolution.
    modTimeResolutionMs: 1000,
  });
});
