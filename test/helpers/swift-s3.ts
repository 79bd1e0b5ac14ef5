import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { MiB } from '@stowage/core';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { requireService } from '../services/require-service';
import { startSwift } from '../services/swift';

/**
 * Starts the local Swift (or skips the suite, saying why) and creates a fresh bucket on its S3 API;
 * returns driver options for it with a random rootdirectory. The part size is S3's minimum, so
 * multipart paths are exercised by modest sizes.
 */
export async function swiftS3Bucket(context: Mocha.Context, label: string): Promise<S3DriverOptions> {
  const swift = await requireService(context, 'OpenStack Swift (s3api)', startSwift);
  const options: S3DriverOptions = {
    bucket: `stowage-${label}-${randomBytes(4).toString('hex')}`,
    region: swift.region,
    regionEndpoint: swift.endpoint,
    forcePathStyle: true,
    accessKey: swift.accessKeyId,
    secretKey: swift.secretAccessKey,
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
