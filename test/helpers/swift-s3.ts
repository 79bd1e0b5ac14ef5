import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { MiB } from '@stowage/core';
import { describeConformance } from '@stowage/conformance';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { requireService } from '../services/require-service';
import { startSwift } from '../services/swift';

/** What a local S3 server gives the tests (the local Swift's s3api, Ceph RGW). */
export interface S3Service {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Creates a fresh bucket on `service` and returns driver options for it with a random
 * rootdirectory. The part size is S3's minimum, so multipart paths are exercised by modest sizes.
 */
export async function newS3Bucket(service: S3Service, label: string): Promise<S3DriverOptions> {
  const options: S3DriverOptions = {
    bucket: `stowage-${label}-${randomBytes(4).toString('hex')}`,
    region: service.region,
    regionEndpoint: service.endpoint,
    forcePathStyle: true,
    accessKey: service.accessKeyId,
    secretKey: service.secretAccessKey,
    rootDirectory: `/run-${randomBytes(4).toString('hex')}`,
    chunkSize: 5 * MiB,
  };
  const admin = new S3Driver(options);
  try {
    await admin.client.send(new CreateBucketCommand({ Bucket: options.bucket }));
  } finally {
    admin.destroy();
  }
  return options;
}

/** Starts the local Swift (or skips the suite, saying why) and creates a fresh bucket on its S3 API. */
export async function swiftS3Bucket(context: Mocha.Context, label: string): Promise<S3DriverOptions> {
  return newS3Bucket(await requireService(context, 'OpenStack Swift (s3api)', startSwift), label);
}

/**
 * The conformance suite (standard profile) on S3Drivers over the bucket `bucket` creates, each
 * call of newInstance a new client as a new process would build; the bucket is deleted afterwards.
 */
export function describeS3Conformance(title: string, bucket: (context: Mocha.Context) => Promise<S3DriverOptions>): void {
  describe(title, function () {
    let options: S3DriverOptions | undefined;
    const drivers: S3Driver[] = [];

    before(async function () {
      options = await bucket(this);
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

    // 'standard' profile: the full profile's 5 GiB stream takes minutes through a local server's
    // proxy and proves nothing the 512 MiB stream and the multipart tests do not.
    describeConformance('s3', async () => newDriver(), {
      profile: 'standard',
      newInstance: () => newDriver(),
      // S3 LastModified has one-second resolution.
      modTimeResolutionMs: 1000,
    });
  });
}
