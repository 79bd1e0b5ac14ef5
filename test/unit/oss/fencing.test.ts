import { KiB, type ObjectStoreDriver } from '@stowage/core';
import type { OssDriver } from '@stowage/oss';
import { describeObjectStoreFencing } from '../core/objectstore-fencing';
import { useLocalOss } from './helpers';

describe('oss: fencing against the local OSS server', () => {
  const oss = useLocalOss();
  const uploadsOf = (driver: ObjectStoreDriver, path: string) =>
    [...oss.server.store.buckets.get((driver as OssDriver).bucket)!.uploads.values()].filter((u) => u.key === driver.layout.key(path));

  describeObjectStoreFencing({
    partSize: 100 * KiB, // OSS's minimum
    driver: () => oss.driver({ chunkSize: 100 * KiB }),
    storedParts: async (driver, path) => uploadsOf(driver, path).flatMap((u) => [...u.parts.keys()]),
    multipartUploads: async (driver, path) => uploadsOf(driver, path).length,
  });
});
