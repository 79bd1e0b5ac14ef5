/** Byte sizes as people type them (`64MiB`, `1g`, `1048576`) and as the table shows them. */

const BINARY: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tib: 2 ** 40 };
const DECIMAL: Record<string, number> = { kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };

/**
 * Parses `512`, `4KiB`, `64MiB`, `1GiB`, `1.5g`, `10MB`. Bare K/M/G/T and the IEC units are
 * powers of 1024; KB/MB/GB/TB are powers of 1000. Throws a RangeError on anything else or on a
 * fractional byte count.
 */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) throw new RangeError(`not a size: ${JSON.stringify(text)} (examples: 1048576, 64MiB, 1GiB)`);
  const unit = match[2]!.toLowerCase();
  const factor = BINARY[unit] ?? DECIMAL[unit];
  if (factor === undefined)
    throw new RangeError(`unknown size unit ${JSON.stringify(match[2])} in ${JSON.stringify(text)} (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)`);
  const bytes = Number(match[1]) * factor;
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`size ${JSON.stringify(text)} is not a whole number of bytes`);
  return bytes;
}

/** A compact exact label for benchmark names: 0 -> `Empty`, 1024 -> `1KiB`, 3 MiB + 1 -> `3145729B`. */
export function sizeLabel(bytes: number): string {
  if (bytes === 0) return 'Empty';
  for (const [unit, factor] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}B`;
}

/** A human-readable size with two decimals: `64.00 MiB`, `1.50 GiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const abs = Math.abs(bytes);
  if (abs < 1024) return `${sign}${abs} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = abs / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${sign}${value.toFixed(2)} ${units[unit]}`;
}
