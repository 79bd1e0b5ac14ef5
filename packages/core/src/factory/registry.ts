/**
 * The driver factory (distribution's `factory` package): drivers register under a name, and
 * `createDriver(name, parameters)` builds one from a config.yml `storage:` section, e.g.
 * `createDriver('filesystem', { rootdirectory: '/var/lib/registry' })`. A driver package
 * registers itself when imported.
 */
import { InvalidParameterError, UnknownDriverError } from '../errors';
import type { DriverFactory, StorageDriver } from '../types';
import { firstPartyDriverPackage } from './first-party';

/**
 * One registry per process, not per copy of this module: an app whose driver package pins another
 * version of @stowage/core has two copies of this file loaded, and a driver registered through
 * either must be found through both. The Map lives on globalThis under a registered symbol; the
 * `@1` names the shape of what is stored there, so a future incompatible shape takes a new key.
 */
const REGISTRY_KEY = Symbol.for('@stowage/core/driver-registry@1');
const factories: Map<string, DriverFactory> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] as Map<string, DriverFactory> | undefined) ?? new Map<string, DriverFactory>();
(globalThis as Record<symbol, unknown>)[REGISTRY_KEY] = factories;

/** Registers `factory` under `name`; registering a second factory under the same name is an error. */
export function registerDriver(name: string, factory: DriverFactory): void {
  if (typeof name !== 'string' || name === '') throw new InvalidParameterError('factory', 'name', 'a driver name must be a non-empty string');
  if (typeof factory !== 'function') throw new InvalidParameterError(name, 'factory', 'must be a function');
  const existing = factories.get(name);
  if (existing && existing !== factory) throw new InvalidParameterError(name, 'name', 'a different driver is already registered under this name');
  factories.set(name, factory);
}

/** Builds the driver registered under `name` (throws UnknownDriverError if there is none). */
export function createDriver(name: string, parameters: Record<string, unknown> = {}): StorageDriver {
  const factory = factories.get(name);
  if (!factory) throw new UnknownDriverError(name, registeredDrivers(), firstPartyDriverPackage(name));
  if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new InvalidParameterError(name, 'parameters', 'must be an object of config.yml parameters');
  }
  return factory(parameters);
}

/** The names drivers are registered under, sorted. */
export function registeredDrivers(): string[] {
  return [...factories.keys()].sort();
}
