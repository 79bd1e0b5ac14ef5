import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { describeConformance } from '@stowage/conformance';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { swiftS3Bucket } from '../helpers/swift-s3';

// The S3 driver against a real S3 implementation: OpenStack Swift's s3api, started on 127.0.0.1
// by test/services/swift (installed from Debian's packages on first use). A fresh bucket and a
// random rootdirectory per run.
describe('s3 on Swift s3api', function () {
  let options: S3DriverOptions | undefined;
  const drivers: S3Driver[] = [];

  before(async function () {
    options = await swiftS3Bucket(this, 'conformance');
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

  // 'standard' profile: the full profile's 5 GiB stream takes minutes through Swift's proxy and
  // proves nothing the 512 MiB stream and the multipart tests do not.
  describeConformance('s3', async () => newDriver(), {
    profile: 'standard',
    newInstance: () => newDriver(),
    // S3 LastModified has one-second resolution.
    modTimeResolutionMs: 1000,
  });
});
