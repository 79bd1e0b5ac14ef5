/**
 * Reading a middleware's config.yml `options`: names are matched case-insensitively (as for
 * drivers' parameters), unknown names are refused (a misspelt option silently ignored would leave
 * a middleware on its defaults), and every problem is an InvalidParameterError naming the
 * middleware and the option.
 */
import { InvalidParameterError, ParameterReader } from '@stowage/core';

/** A ParameterReader over `options` that refuses names other than `known`. */
export function readOptions(middleware: string, options: Record<string, unknown>, known: readonly string[]): ParameterReader {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidParameterError(middleware, 'options', 'must be a map of option names to values');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key.toLowerCase())) {
      throw new InvalidParameterError(middleware, key, `unknown option (${middleware} takes ${known.join(', ')})`);
    }
  }
  return new ParameterReader(middleware, options);
}

/** A duration option in milliseconds: a Go duration (`100ms`, `2s`) or a number of seconds, as config.yml gives durations. */
export function durationMs(reader: ParameterReader, name: string, fallbackMs: number, options: { allowZero?: boolean } = {}): number {
  const value = reader.raw(name);
  if (options.allowZero && (value === 0 || value === '0' || value === '0s')) return 0;
  return Math.round(reader.durationSeconds(name, fallbackMs / 1000) * 1000);
}

/** A rate option: a number from 0 to 1 (`0.05`), or a percentage string (`5%`). */
export function rate(reader: ParameterReader, name: string, fallback: number): number {
  const value = reader.raw(name);
  if (value === undefined || value === '') return fallback;
  let parsed = Number.NaN;
  if (typeof value === 'number') parsed = value;
  else if (typeof value === 'string') {
    const text = value.trim();
    parsed = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  }
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1)
    throw reader.invalid(name, `must be a rate from 0 to 1 (or 0% to 100%), got ${JSON.stringify(value)}`);
  return parsed;
}

/** A list option: a YAML list, or a comma-separated string (as an environment variable gives it). */
export function stringList(reader: ParameterReader, name: string): string[] | undefined {
  const value = reader.raw(name);
  if (value === undefined || value === '') return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!items || !items.every((item) => typeof item === 'string')) throw reader.invalid(name, 'must be a list of strings or a comma-separated string');
  return items.map((item) => item.trim()).filter((item) => item !== '');
}
