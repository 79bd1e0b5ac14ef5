/**
 * The storage driver named by config.yml. Each Stowage driver package registers itself with the
 * factory when imported; only the configured one is loaded, so that a filesystem registry does not
 * load four cloud SDKs.
 */
import { createDriver, registeredDrivers, type StorageDriver } from '@stowage/core';
import type { RegistryConfig } from './config';
import { ConfigError } from './config';

const DRIVER_PACKAGES: Record<string, () => Promise<unknown>> = {
  filesystem: () => import('@stowage/filesystem'),
  inmemory: () => import('@stowage/inmemory'),
  s3: () => import('@stowage/s3'),
  's3-aws': () => import('@stowage/s3'),
  azure: () => import('@stowage/azure'),
  oss: () => import('@stowage/oss'),
  swift: () => import('@stowage/swift'),
};

/** createDriver(name, parameters) with the `storage:` section's driver, its package loaded first. */
export async function createStorageDriver(storage: RegistryConfig['storage']): Promise<StorageDriver> {
  const load = DRIVER_PACKAGES[storage.driver];
  if (!load && !registeredDrivers().includes(storage.driver)) {
    throw new ConfigError(`storage: unknown driver ${storage.driver} (known: ${Object.keys(DRIVER_PACKAGES).join(', ')})`);
  }
  await load?.();
  return createDriver(storage.driver, storage.parameters);
}
