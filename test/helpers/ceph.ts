import type { S3DriverOptions } from '@stowage/s3';
import type { SwiftDriverOptions } from '@stowage/swift';
import { startCeph, type CephService } from '../services/ceph';
import { requireService } from '../services/require-service';
import { newSwiftContainer } from './swift-native';
import { newS3Bucket } from './swift-s3';

const NAME = 'Ceph RGW';

/** Starts the local Ceph cluster (or skips the suite, saying why) and creates a fresh bucket through radosgw's S3 API. */
export async function cephS3Bucket(context: Mocha.Context, label: string): Promise<S3DriverOptions> {
  return newS3Bucket(await requireService(context, NAME, startCeph), label);
}

/**
 * Starts the local Ceph cluster (or skips the suite, saying why) and returns SwiftDriver options
 * (radosgw's Swift API, v1 auth) for a fresh container, as swiftContainer does for the local Swift.
 */
export async function cephSwiftContainer(
  context: Mocha.Context,
  label: string,
  extra: Partial<SwiftDriverOptions> = {},
): Promise<SwiftDriverOptions & { service: CephService }> {
  return newSwiftContainer(await requireService(context, NAME, startCeph), label, extra);
}
