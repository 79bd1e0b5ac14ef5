/**
 * Where a command's driver comes from, in this order: `--config FILE` (a distribution config.yml),
 * `--driver NAME --param key=value ...`, or STOWAGE_DRIVER with STOWAGE_PARAM_<KEY> variables.
 * First-party drivers register themselves on import (each is loaded when first named: the cloud
 * SDKs take most of a second to load); `--require MODULE` loads others that do.
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createDriver, firstPartyDriverPackage, firstPartyDrivers, registeredDrivers, type StorageDriver } from '@stowage/core';
import { readStorageSection } from './config-file';
import { UsageError } from './errors';

/** The options every driver-backed command accepts. */
export interface DriverOptions {
  config?: string;
  storageKey?: string;
  driver?: string;
  param?: string[];
  require?: string[];
}

/** A resolved driver configuration: enough to build the driver, and to build it again (resume tests). */
export interface DriverSpec {
  driver: string;
  parameters: Record<string, unknown>;
  /** Where it came from, for messages: `config.yml`, `--driver`, `STOWAGE_DRIVER`. */
  source: string;
}

const ENV_DRIVER = 'STOWAGE_DRIVER';
const ENV_PARAM_PREFIX = 'STOWAGE_PARAM_';

/** `key=value` pairs; the value may contain `=`. Keys are kept as typed (parameters are case-insensitive). */
function parseParams(pairs: readonly string[]): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--param ${JSON.stringify(pair.split('=')[0])}: expected key=value`);
    parameters[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return parameters;
}

/** Reads the driver configuration from the options, or else from the environment. */
export function resolveDriverSpec(options: DriverOptions, env: NodeJS.ProcessEnv = process.env): DriverSpec {
  const params = options.param ?? [];
  if (options.config !== undefined) {
    if (options.driver !== undefined || params.length > 0) throw new UsageError('--config and --driver/--param are alternatives: give one');
    const section = readStorageSection(options.config, options.storageKey);
    return { driver: section.driver, parameters: section.parameters, source: options.config };
  }
  if (options.storageKey !== undefined) throw new UsageError('--storage-key needs --config');
  if (options.driver !== undefined) return { driver: options.driver, parameters: parseParams(params), source: '--driver' };
  if (params.length > 0) throw new UsageError('--param needs --driver');
  const fromEnv = env[ENV_DRIVER];
  if (fromEnv !== undefined && fromEnv !== '') {
    const parameters: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(env)) {
      if (name.startsWith(ENV_PARAM_PREFIX) && name.length > ENV_PARAM_PREFIX.length) parameters[name.slice(ENV_PARAM_PREFIX.length).toLowerCase()] = value;
    }
    return { driver: fromEnv, parameters, source: ENV_DRIVER };
  }
  throw new UsageError(`no driver configured: give --config FILE, --driver NAME [--param key=value ...], or set ${ENV_DRIVER} (and ${ENV_PARAM_PREFIX}<KEY>)`);
}

/**
 * Loads third-party driver modules, resolved like Node resolves them from the current directory
 * (a package name or a file path); each registers its driver with @stowage/core when loaded.
 */
export function loadDriverModules(modules: readonly string[], cwd: string = process.cwd()): void {
  const requireFromCwd = createRequire(join(cwd, 'noop.js'));
  for (const name of modules) {
    const target = name.startsWith('.') || name.startsWith('/') ? resolve(cwd, name) : name;
    try {
      requireFromCwd(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(`'${target}'`)) {
        throw new UsageError(`--require ${name}: module not found from ${cwd}`);
      }
      throw err;
    }
  }
}

/** Loads a driver package for what loading does: it registers its drivers with @stowage/core. */
function loadPackage(packageName: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded by name, on demand: each cloud SDK takes most of a second to load
  require(packageName);
}

/** Loads every first-party driver, so that all of them are registered (for listings). */
export function loadFirstPartyDrivers(): void {
  for (const { packageName } of firstPartyDrivers()) loadPackage(packageName);
}

/**
 * Builds the driver; parameter mistakes surface as InvalidParameterError, unknown names as
 * UnknownDriverError (listing every driver there is).
 */
export function buildDriver(spec: DriverSpec): StorageDriver {
  if (!registeredDrivers().includes(spec.driver)) {
    const packageName = firstPartyDriverPackage(spec.driver);
    if (packageName) loadPackage(packageName);
    else loadFirstPartyDrivers();
  }
  return createDriver(spec.driver, spec.parameters);
}

/** Releases a driver's connections when it has a way to (the S3 driver's destroy()). */
export function releaseDriver(driver: StorageDriver): void {
  const destroy = (driver as { destroy?: unknown }).destroy;
  if (typeof destroy === 'function') (destroy as () => void).call(driver);
}
