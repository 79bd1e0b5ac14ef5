import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { MiB } from '@stowage/core';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { startCeph, type CephService } from '../services/ceph';
import { requireService } from '../services/require-service';
import { TEMP_URL_KEY } from './swift-native';

const NAME = 'Ceph RGW';

/**
 * Starts the local Ceph cluster (or skips the suite, saying why) and creates a fresh bucket through
 * radosgw's S3 API; returns S3 driver options for it with a random rootdirectory. The part size is
 * S3's minimum, so multipart paths are exercised by modest sizes.
 */
export async function cephS3Bucket(context: Mocha.Context, label: string): Promise<S3DriverOptions> {
  const ceph = await requireService(context, NAME, startCeph);
  const options: S3DriverOptions = {
    bucket: `stowage-${label}-${randomBytes(4).toString('hex')}`,
    region: ceph.region,
    regionEndpoint: ceph.endpoint,
    forcePathStyle: true,
    accessKey: ceph.accessKeyId,
    secretKey: ceph.secretAccessKey,
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

/**
 * Starts the local Ceph cluster (or skips the suite, saying why) and returns SwiftDriver options
 * (radosgw's Swift API, v1 auth) for a fresh container and a random prefix, with the driver's
 * minimum segment size. The account gets TEMP_URL_KEY as its TempURL key.
 */
export async function cephSwiftContainer(context: Mocha.Context, label: string, extra: Partial<SwiftDriverOptions> = {}): Promise<SwiftDriverOptions & { service: CephService }> {
  const service = await requireService(context, NAME, startCeph);
  const options: SwiftDriverOptions = {
    authUrl: service.authUrl,
    username: service.user,
    password: service.key,
    container: `stowage-${label}-${randomBytes(4).toString('hex')}`,
    prefix: `run-${randomBytes(4).toString('hex')}`,
    chunkSize: 1 * MiB,
    ...extra,
  };
  const admin = new SwiftDriver(options);
  try {
    const response = await admin.client.request({ method: 'POST', headers: { 'x-account-meta-temp-url-key': TEMP_URL_KEY }, ok: [204] });
    await response.body.dump();
  } finally {
    await admin.destroy();
  }
  return { ...options, service };
}
