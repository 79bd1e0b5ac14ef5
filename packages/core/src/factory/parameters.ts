/**
 * Reads distribution-style config.yml parameters. Names are matched case-insensitively (YAML
 * loaders and environment overrides differ in case) and values may be strings, as they are when
 * they come from environment variables: `maxthreads: "100"`, `secure: "false"`.
 */
import { InvalidParameterError, isInvalidParameter } from '../errors';

export interface IntegerOptions {
  default: number;
  min?: number;
  max?: number;
}

export class ParameterReader {
  private readonly values = new Map<string, unknown>();

  constructor(
    readonly driverName: string,
    parameters: Record<string, unknown> = {},
  ) {
    if (parameters === null || typeof parameters !== 'object') {
      throw new InvalidParameterError(driverName, 'parameters', 'must be an object');
    }
    for (const [key, value] of Object.entries(parameters)) {
      if (value !== undefined && value !== null) this.values.set(key.toLowerCase(), value);
    }
  }

  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }

  raw(name: string): unknown {
    return this.values.get(name.toLowerCase());
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value !== 'string') throw this.invalid(name, `must be a string, got ${typeof value}`);
    return value;
  }

  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === '') throw this.invalid(name, 'is required');
    return value;
  }

  integer(name: string, options: IntegerOptions): number {
    const parsed = this.optionalInteger(name) ?? options.default;
    if (options.min !== undefined && parsed < options.min) throw this.invalid(name, `must be at least ${options.min}, got ${parsed}`);
    if (options.max !== undefined && parsed > options.max) throw this.invalid(name, `must be at most ${options.max}, got ${parsed}`);
    return parsed;
  }

  /**
   * An integer parameter, or undefined when absent: only the text is parsed here ("10MB" is
   * refused); its range is the driver constructor's to check, see `construct`.
   */
  optionalInteger(name: string): number | undefined {
    const value = this.raw(name);
    if (value === undefined || value === '') return undefined;
    const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed)) throw this.invalid(name, `must be an integer, got ${JSON.stringify(value)}`);
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined || value === '') return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const lowered = value.trim().toLowerCase();
      if (lowered === 'true') return true;
      if (lowered === 'false') return false;
    }
    throw this.invalid(name, `must be true or false, got ${JSON.stringify(value)}`);
  }

  /**
   * A duration in seconds: a number of seconds, or a Go duration string as distribution's config
   * takes them (`20m`, `1h30m`, `90s`, `1500ms`).
   */
  durationSeconds(name: string, fallback: number): number {
    const value = this.raw(name);
    if (value === undefined || value === '') return fallback;
    const seconds = typeof value === 'number' ? value : typeof value === 'string' ? parseGoDuration(value) : undefined;
    if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) {
      throw this.invalid(name, `must be a positive duration such as 20m or 90s, got ${JSON.stringify(value)}`);
    }
    return seconds;
  }

  /**
   * The lifetime of redirect URLs in seconds: `redirect: { expiry }` as a nested map, or the flat
   * `redirectexpiry` (as an environment variable gives it), each a duration as above.
   */
  redirectExpirySeconds(fallback: number): number {
    const nested = this.raw('redirect');
    if (nested !== undefined && typeof nested === 'object' && nested !== null) {
      return new ParameterReader(this.driverName, nested as Record<string, unknown>).durationSeconds('expiry', fallback);
    }
    return this.durationSeconds('redirectexpiry', fallback);
  }

  invalid(name: string, problem: string): InvalidParameterError {
    return new InvalidParameterError(this.driverName, name, problem);
  }

  /**
   * Runs a driver's constructor on options parsed from these parameters. A factory parses config
   * text into typed options and the constructor checks them, so each rule lives in one place; an
   * InvalidParameterError from the constructor names the option (`chunkSize`) and is thrown again
   * naming the config.yml parameter it came from: `configNames[option]` when given, else the
   * option's name in lower case (`chunksize`), distribution's spelling.
   */
  construct<T>(build: () => T, configNames: Readonly<Record<string, string>> = {}): T {
    try {
      return build();
    } catch (err) {
      // The guard, not instanceof: the constructor may throw through another copy of core.
      if (!isInvalidParameter(err) || err.driverName !== this.driverName) throw err;
      const name = Object.hasOwn(configNames, err.parameter) ? configNames[err.parameter]! : err.parameter.toLowerCase();
      if (name === err.parameter) throw err;
      const prefix = `${this.driverName}: parameter ${err.parameter}: `;
      const problem = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
      throw this.invalid(name, problem);
    }
  }
}

/**
 * A numeric option given to a driver's constructor (not parsed from config text): `default` when
 * undefined, else it must be a safe integer within [min, max], or an InvalidParameterError names it.
 */
export function integerOption(driverName: string, name: string, value: number | undefined, options: IntegerOptions): number {
  if (value === undefined) return options.default;
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = options.max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidParameterError(driverName, name, `must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Seconds in a Go duration string (`1h30m`, `20m`, `2.5s`) or a bare number of seconds; undefined if malformed. */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (!/^((\d+(\.\d+)?)(ns|us|µs|ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(match[1]) * DURATION_UNITS[match[2]!]!;
  return total;
}
