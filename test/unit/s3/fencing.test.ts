import { DeleteBucketCommand, ListMultipartUploadsCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { MiB, type ObjectStoreDriver } from '@stowage/core';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { describeObjectStoreFencing } from '../core/objectstore-fencing';
import { swiftS3Bucket } from '../../helpers/swift-s3';

describe('s3: fencing against Swift s3api', function () {
  let options: S3DriverOptions;
  const drivers: S3Driver[] = [];

  before(async function () {
    options = await swiftS3Bucket(this, 'fencing');
  });

  after(async () => {
    if (drivers[0]) await drivers[0].client.send(new DeleteBucketCommand({ Bucket: options.bucket })).catch(() => undefined);
    for (const made of drivers) made.destroy();
  });

  /** The unfinished multipart uploads of `path` (ListMultipartUploads is fine for a test's own bucket). */
  const uploadIds = async (driver: S3Driver, path: string): Promise<string[]> => {
    const key = driver.layout.key(path);
    const out = await driver.client.send(new ListMultipartUploadsCommand({ Bucket: driver.bucket, Prefix: key }));
    return (out.Uploads ?? []).filter((u) => u.Key === key).map((u) => u.UploadId!);
  };

  describeObjectStoreFencing({
    partSize: 5 * MiB, // S3's minimum
    driver: async () => {
      // Each test its own root directory, so their staged uploads and objects never meet.
      const made = new S3Driver({ ...options, rootDirectory: `${options.rootDirectory}/${drivers.length}` });
      drivers.push(made);
      return made;
    },
    storedParts: async (driver: ObjectStoreDriver, path) => {
      const s3 = driver as S3Driver;
      const parts: number[] = [];
      for (const uploadId of await uploadIds(s3, path)) {
        const out = await s3.client.send(new ListPartsCommand({ Bucket: s3.bucket, Key: s3.layout.key(path), UploadId: uploadId }));
        parts.push(...(out.Parts ?? []).map((p) => p.PartNumber!));
      }
      return parts;
    },
    multipartUploads: async (driver, path) => (await uploadIds(driver as S3Driver, path)).length,
  });
});
