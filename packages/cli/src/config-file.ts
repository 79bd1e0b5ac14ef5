/**
 * The `storage:` section of a distribution config.yml, read unchanged: one key names the driver
 * and holds its parameters; `cache`, `delete`, `maintenance`, `redirect` and `tag` are the
 * registry's own settings, not drivers (as distribution's configuration package treats them).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UsageError } from './errors';

/** Keys of `storage:` that configure the registry rather than name a driver. */
const REGISTRY_STORAGE_KEYS = new Set(['cache', 'delete', 'maintenance', 'redirect', 'tag']);

export interface StorageSection {
  driver: string;
  parameters: Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The driver and parameters configured in `file`. With more than one driver under `storage:`,
 * `storageKey` picks one; without it that is a UsageError naming the candidates.
 */
export function readStorageSection(file: string, storageKey?: string): StorageSection {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (err) {
    throw new UsageError(`--config ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const storage = isPlainObject(document) ? document.storage : undefined;
  // distribution also accepts `storage: inmemory`, a driver without parameters.
  if (typeof storage === 'string' && storage !== '') return pick(file, { [storage]: {} }, storageKey);
  if (!isPlainObject(storage)) throw new UsageError(`--config ${file}: no storage: section`);
  return pick(file, storage, storageKey);
}

function pick(file: string, storage: Record<string, unknown>, storageKey: string | undefined): StorageSection {
  const drivers = Object.keys(storage).filter((key) => !REGISTRY_STORAGE_KEYS.has(key));
  let driver: string;
  if (storageKey !== undefined) {
    if (!drivers.includes(storageKey))
      throw new UsageError(`--storage-key ${storageKey}: not a driver under storage: in ${file} (found: ${drivers.join(', ') || 'none'})`);
    driver = storageKey;
  } else if (drivers.length === 1) {
    driver = drivers[0]!;
  } else if (drivers.length === 0) {
    throw new UsageError(`--config ${file}: storage: names no driver`);
  } else {
    throw new UsageError(`--config ${file}: storage: names ${drivers.length} drivers (${drivers.join(', ')}); choose one with --storage-key`);
  }
  const parameters = storage[driver] ?? {};
  if (!isPlainObject(parameters)) throw new UsageError(`--config ${file}: storage.${driver} must be a mapping of parameters`);
  return { driver, parameters };
}
