/**
 * distribution's config.yml, the parts this registry honours: `storage` (one driver section, passed
 * to createDriver unchanged, plus `delete`, `redirect` and `maintenance.uploadpurging`),
 * `middleware.storage` (applied to the driver with core's applyMiddleware), `http.addr`,
 * `http.tls`, `auth.htpasswd` and `log.level`. A user points it at their existing registry config;
 * sections it does not know (notifications, health, proxy, ...) are ignored, and anything it cannot
 * honour safely (another auth scheme) is a ConfigError.
 */
import { readFile } from 'node:fs/promises';
import { parseGoDuration, type MiddlewareConfig } from '@stowage/core';
import { parse as parseYaml } from 'yaml';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** distribution's defaults for maintenance.uploadpurging. */
const DEFAULT_PURGE_AGE_SECONDS = 168 * 3600;
const DEFAULT_PURGE_INTERVAL_SECONDS = 24 * 3600;

/** The registry's settings, parsed from config.yml. */
export interface RegistryConfig {
  storage: {
    /** The driver name (`filesystem`, `s3`, ...) and its parameters, as config.yml gives them. */
    driver: string;
    parameters: Record<string, unknown>;
    /** storage.delete.enabled: blob and manifest DELETE allowed (default false, as in distribution). */
    deleteEnabled: boolean;
    /** storage.redirect.disable: never answer a blob GET with a redirect to the storage. */
    redirectDisabled: boolean;
    /** storage.maintenance.uploadpurging. */
    uploadPurging: { enabled: boolean; ageSeconds: number; intervalSeconds: number; dryRun: boolean };
  };
  /** middleware.storage: the storage middleware wrapped around the driver, innermost first; their options are checked when applied. */
  middleware: { storage: MiddlewareConfig[] };
  http: {
    /** The address to listen on; undefined means every interface. Port 0 picks a free one. */
    host: string | undefined;
    port: number;
    tls?: { certificate: string; key: string };
  };
  auth?: { htpasswd: { realm: string; path: string } };
  log: { level: LogLevel };
}

/** config.yml is missing something or holds a value this registry cannot use. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The storage keys that configure the registry rather than name a driver. */
const STORAGE_OPTION_KEYS = new Set(['delete', 'redirect', 'maintenance', 'cache', 'tag']);

type Section = Record<string, unknown>;

function section(value: unknown, where: string): Section {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${where} must be a mapping`);
  return value as Section;
}

function bool(value: unknown, where: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(`${where} must be true or false`);
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${where} must be a non-empty string`);
  return value;
}

function duration(value: unknown, where: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const seconds = typeof value === 'number' ? value / 1e9 : parseGoDuration(String(value)); // a bare YAML number is Go nanoseconds
  if (seconds === undefined || !(seconds > 0)) throw new ConfigError(`${where} must be a positive duration such as 168h`);
  return seconds;
}

/** `:5000`, `0.0.0.0:5000`, `127.0.0.1:0`, `[::1]:5000` */
function parseAddress(value: unknown): { host: string | undefined; port: number } {
  const addr = value === undefined || value === null ? ':5000' : text(value, 'http.addr');
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(`http.addr must be HOST:PORT or :PORT, got ${JSON.stringify(addr)}`);
  const host = match[1] ?? match[2];
  return { host: host ? host : undefined, port };
}

function parseStorage(value: unknown): RegistryConfig['storage'] {
  const storage = section(value, 'storage');
  const drivers = Object.keys(storage).filter((key) => !STORAGE_OPTION_KEYS.has(key));
  if (drivers.length !== 1) throw new ConfigError(`storage must configure exactly one driver, found ${drivers.length ? drivers.join(', ') : 'none'}`);
  const driver = drivers[0]!;
  const purging = section(section(storage.maintenance, 'storage.maintenance').uploadpurging, 'storage.maintenance.uploadpurging');
  return {
    driver,
    parameters: { ...section(storage[driver], `storage.${driver}`) },
    deleteEnabled: bool(section(storage.delete, 'storage.delete').enabled, 'storage.delete.enabled', false),
    redirectDisabled: bool(section(storage.redirect, 'storage.redirect').disable, 'storage.redirect.disable', false),
    uploadPurging: {
      enabled: bool(purging.enabled, 'storage.maintenance.uploadpurging.enabled', true),
      ageSeconds: duration(purging.age, 'storage.maintenance.uploadpurging.age', DEFAULT_PURGE_AGE_SECONDS),
      intervalSeconds: duration(purging.interval, 'storage.maintenance.uploadpurging.interval', DEFAULT_PURGE_INTERVAL_SECONDS),
      dryRun: bool(purging.dryrun, 'storage.maintenance.uploadpurging.dryrun', false),
    },
  };
}

function parseMiddleware(value: unknown): RegistryConfig['middleware'] {
  const storage = section(value, 'middleware').storage;
  if (storage === undefined || storage === null) return { storage: [] };
  if (!Array.isArray(storage)) throw new ConfigError('middleware.storage must be a list of { name, options } entries');
  return {
    storage: storage.map((entry: unknown, index) => {
      const where = `middleware.storage[${index}]`;
      const { name, options } = section(entry, where);
      return { name: text(name, `${where}.name`), options: { ...section(options, `${where}.options`) } };
    }),
  };
}

function parseHttp(value: unknown): RegistryConfig['http'] {
  const http = section(value, 'http');
  const tls = section(http.tls, 'http.tls');
  return {
    ...parseAddress(http.addr),
    ...(http.tls ? { tls: { certificate: text(tls.certificate, 'http.tls.certificate'), key: text(tls.key, 'http.tls.key') } } : {}),
  };
}

function parseAuth(value: unknown): RegistryConfig['auth'] {
  const auth = section(value, 'auth');
  const schemes = Object.keys(auth);
  if (schemes.length === 0) return undefined;
  if (schemes.length > 1 || schemes[0] !== 'htpasswd') throw new ConfigError(`auth: only htpasswd is supported, found ${schemes.join(', ')}`);
  const htpasswd = section(auth.htpasswd, 'auth.htpasswd');
  return {
    htpasswd: { realm: typeof htpasswd.realm === 'string' && htpasswd.realm ? htpasswd.realm : 'basic-realm', path: text(htpasswd.path, 'auth.htpasswd.path') },
  };
}

function parseLogLevel(value: unknown): LogLevel {
  if (value === undefined || value === null) return 'info';
  if (!LOG_LEVELS.includes(value as LogLevel)) throw new ConfigError(`log.level must be one of ${LOG_LEVELS.join(', ')}`);
  return value as LogLevel;
}

/** Parses config.yml text; `source` names it in errors. */
export function parseConfig(yamlText: string, source = 'config.yml'): RegistryConfig {
  let document: unknown;
  try {
    document = parseYaml(yamlText);
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  try {
    const root = section(document, 'the document');
    const auth = parseAuth(root.auth);
    return {
      storage: parseStorage(root.storage),
      middleware: parseMiddleware(root.middleware),
      http: parseHttp(root.http),
      ...(auth ? { auth } : {}),
      log: { level: parseLogLevel(section(root.log, 'log').level) },
    };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

export async function loadConfig(path: string): Promise<RegistryConfig> {
  let yamlText: string;
  try {
    yamlText = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseConfig(yamlText, path);
}
