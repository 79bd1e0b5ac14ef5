/**
 * Storage middleware by name (distribution's `storagemiddleware.Register`): a middleware package
 * registers factories when imported, and `applyMiddleware(driver, config.middleware.storage)`
 * wraps a driver in the middleware a config.yml lists:
 *
 * ```yaml
 * middleware:
 *   storage:
 *     - name: redirect
 *       options:
 *         baseurl: https://cdn.example.com/registry
 * ```
 *
 * `redirect` is registered here; `@stowage/middleware` registers the rest when imported.
 */
import { InvalidParameterError } from '../errors';
import { RedirectMiddleware } from './redirect';
import type { StorageDriver } from '../types';

/** Wraps `driver` in a middleware built from its config.yml `options` (an empty object when none are given). */
export type MiddlewareFactory = (driver: StorageDriver, options: Record<string, unknown>) => StorageDriver;

/** One entry of config.yml's `middleware: storage:` list. */
export interface MiddlewareConfig {
  /** The name the middleware is registered under (`redirect`, `retry`, ...). */
  name: string;
  /** Its options, as config.yml gives them; names are lower case as in distribution. */
  options?: Record<string, unknown> | null;
}

/** Middleware registered by `@stowage/middleware` on import, for the hint when it is not loaded. */
const FIRST_PARTY = new Set(['regulator', 'retry', 'instrument', 'cloudfront', 'rewrite', 'chaos']);

/**
 * One registry per process, not per copy of this module, as for drivers (see factory/registry.ts):
 * a middleware registered through one copy of @stowage/core is found through every other.
 */
const REGISTRY_KEY = Symbol.for('@stowage/core/middleware-registry@1');
const factories: Map<string, MiddlewareFactory> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] as Map<string, MiddlewareFactory> | undefined) ?? new Map<string, MiddlewareFactory>();
(globalThis as Record<symbol, unknown>)[REGISTRY_KEY] = factories;

/** Registers `factory` under `name`; registering a second factory under the same name is an error. */
export function registerMiddleware(name: string, factory: MiddlewareFactory): void {
  if (typeof name !== 'string' || name === '') throw new InvalidParameterError('middleware', 'name', 'a middleware name must be a non-empty string');
  if (typeof factory !== 'function') throw new InvalidParameterError(name, 'factory', 'must be a function');
  const existing = factories.get(name);
  if (existing && existing !== factory) throw new InvalidParameterError(name, 'name', 'a different middleware is already registered under this name');
  factories.set(name, factory);
}

/** The names middleware is registered under, sorted. */
export function registeredMiddleware(): string[] {
  return [...factories.keys()].sort();
}

/**
 * Wraps `driver` in each middleware of `config` in turn, as distribution does: the first entry
 * wraps the driver itself, each next one wraps the result, so the last is outermost (the first to
 * see a call). An absent or empty list gives `driver` back unchanged.
 * @throws InvalidParameterError for a malformed entry, an unregistered name or bad options.
 */
export function applyMiddleware(driver: StorageDriver, config: readonly MiddlewareConfig[] | null | undefined): StorageDriver {
  if (config === undefined || config === null) return driver;
  if (!Array.isArray(config)) throw new InvalidParameterError('middleware', 'storage', 'must be a list of { name, options } entries');
  let wrapped = driver;
  config.forEach((entry: unknown, index) => {
    const where = `storage[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new InvalidParameterError('middleware', where, 'must be a { name, options } entry');
    }
    const { name, options } = entry as { name?: unknown; options?: unknown };
    if (typeof name !== 'string' || name === '') throw new InvalidParameterError('middleware', `${where}.name`, 'must be a non-empty string');
    const factory = factories.get(name);
    if (!factory) {
      const hint = FIRST_PARTY.has(name) ? '; import @stowage/middleware to register it' : '';
      throw new InvalidParameterError(
        name,
        `${where}.name`,
        `no storage middleware registered under this name (registered: ${registeredMiddleware().join(', ')})${hint}`,
      );
    }
    if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
      throw new InvalidParameterError(name, 'options', 'must be a map of option names to values');
    }
    wrapped = factory(wrapped, (options ?? {}) as Record<string, unknown>);
  });
  return wrapped;
}

// Every copy of core in the process runs this; the first copy's redirect serves them all.
if (!factories.has('redirect')) registerMiddleware('redirect', redirectFromConfig);

function redirectFromConfig(driver: StorageDriver, options: Record<string, unknown>): StorageDriver {
  for (const key of Object.keys(options)) {
    if (key.toLowerCase() !== 'baseurl') throw new InvalidParameterError('redirect', key, 'unknown option (redirect takes baseurl)');
  }
  const baseurl = Object.entries(options).find(([key]) => key.toLowerCase() === 'baseurl')?.[1];
  if (typeof baseurl !== 'string' || baseurl === '') throw new InvalidParameterError('redirect', 'baseurl', 'is required');
  return new RedirectMiddleware(driver, { baseurl });
}
