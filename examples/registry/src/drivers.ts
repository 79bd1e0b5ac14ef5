/**
 * The storage driver named by config.yml, wrapped in the middleware it lists. Each Stowage driver
 * package registers itself with the factory when imported; only the configured one is loaded, so
 * that a filesystem registry does not load four cloud SDKs. @stowage/middleware is loaded only
 * when config.yml names a middleware core does not register itself.
 */
import {
  applyMiddleware,
  createDriver,
  firstPartyDriverPackage,
  firstPartyDrivers,
  registeredDrivers,
  registeredMiddleware,
  type StorageDriver,
} from '@stowage/core';
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

/** `driver` inside the middleware of config.yml's `middleware.storage` list, @stowage/middleware loaded when a name needs it. */
export async function applyStorageMiddleware(driver: StorageDriver, middleware: RegistryConfig['middleware']['storage']): Promise<StorageDriver> {
  const registered = registeredMiddleware();
  if (middleware.some((entry) => !registered.includes(entry.name))) await import('@stowage/middleware');
  return applyMiddleware(driver, middleware);
}
