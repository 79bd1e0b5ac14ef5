/**
 * The storage driver named by config.yml. Each Stowage driver package registers itself with the
 * factory when imported; only the configured one is loaded, so that a filesystem registry does not
 * load four cloud SDKs.
 */
import { createDriver, firstPartyDriverPackage, firstPartyDrivers, registeredDrivers, type StorageDriver } from '@stowage/core';
import type { RegistryConfig } from './config';
import { ConfigError } from './config';

/** createDriver(name, parameters) with the `storage:` section's driver, its package loaded first. */
export async function createStorageDriver(storage: RegistryConfig['storage']): Promise<StorageDriver> {
  const packageName = firstPartyDriverPackage(storage.driver);
  if (!packageName && !registeredDrivers().includes(storage.driver)) {
    const known = firstPartyDrivers().map((driver) => driver.name);
    throw new ConfigError(`storage: unknown driver ${storage.driver} (known: ${known.join(', ')})`);
  }
  if (packageName) await import(packageName);
  return createDriver(storage.driver, storage.parameters);
}
