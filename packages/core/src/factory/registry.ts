/**
 * The driver factory (distribution's `factory` package): drivers register under a name, and
 * `createDriver(name, parameters)` builds one from a config.yml `storage:` section, e.g.
 * `createDriver('filesystem', { rootdirectory: '/var/lib/registry' })`. A driver package
 * registers itself when imported.
 */
import { InvalidParameterError, UnknownDriverError } from '../errors';
import type { DriverFactory, StorageDriver } from '../types';

const factories = new Map<string, DriverFactory>();

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
  if (!factory) throw new UnknownDriverError(name, registeredDrivers());
  if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new InvalidParameterError(name, 'parameters', 'must be an object of config.yml parameters');
  }
  return factory(parameters);
}

/** The names drivers are registered under, sorted. */
export function registeredDrivers(): string[] {
  return [...factories.keys()].sort();
}
