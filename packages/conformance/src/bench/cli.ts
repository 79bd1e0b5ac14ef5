/** Command-line parsing for `npm run bench` (scripts/bench.js), kept here so it can be unit-tested. */
import { parseSize } from './size';

export interface BenchCliOptions {
  driver: string;
  /** Write the JSON here; `-` prints it on stdout (and the table on stderr). */
  jsonFile?: string;
  largeSize?: number;
  quick: boolean;
  only?: string[];
  rounds?: number;
  largeRounds?: number;
  chunkSize?: number;
  /** Bytes streamed by the memory check; 0 skips it. */
  memorySize?: number;
  /** `--driver-fsync on|off`: whether the driver fsyncs on commit (filesystem: syncOnCommit); unset = the driver's default. */
  driverFsync?: boolean;
  /** `--baseline-fsync on|off`: whether the baseline fsyncs and renames like a crash-safe store; unset = same as the driver. */
  baselineFsync?: boolean;
  /** Exit non-zero when a target or the memory check fails, not only on errors. */
  strict: boolean;
  /** `--peers`: the same workloads through peer libraries too, one process per library (set only when given). */
  peers?: boolean;
  help: boolean;
}

/** A usage mistake: the script prints the message and the usage text and exits 2. */
export class BenchUsageError extends Error {
  override get name(): string {
    return 'BenchUsageError';
  }
}

export function benchUsage(drivers: readonly string[]): string {
  const options: Array<[string, string]> = [
    ['--driver NAME', `the driver to measure: ${drivers.join(' | ')}`],
    ['--json FILE', 'also write the result as JSON to FILE (- : JSON on stdout, table on stderr)'],
    ['--large SIZE', 'size of the large PutGet/Stream benchmarks (default 1GiB; 64MiB with --quick)'],
    ['--quick', 'a short run: 3 rounds, short batches, 64MiB large size'],
    ['--only NAME[,NAME]', 'only these benchmarks (e.g. PutGet1MiB,Stream256MiB; * wildcards; Memory = the memory check)'],
    ['--rounds N', 'measured rounds per benchmark (the median is reported; default 5, 3 with --quick)'],
    ['--large-rounds N', 'rounds of the benchmarks of 64MiB and more (default 3, 2 with --quick)'],
    ['--chunk SIZE', 'chunk size of stream writes (default 1MiB)'],
    ['--memory-size SIZE', 'bytes streamed by the memory check (default 1GiB; 0 skips it)'],
    ['--driver-fsync on|off', 'filesystem: run the driver with syncOnCommit on (its default) or off'],
    ['--baseline-fsync on|off', 'filesystem: the baseline writes a flushed temp file, renames it and fsyncs the directory (on),'],
    ['', 'or writes in place without fsync (off); default: the same as the driver'],
    ['--strict', 'exit 3 when a target ratio or the memory check fails'],
    ['--peers', 'filesystem, inmemory: also run the workloads through OpenDAL and flystorage (installed on first use),'],
    ['', 'each library in its own process, --rounds N interleaved rounds (default 3); exit 4 if they cannot be installed'],
    ['-h, --help', 'this text'],
  ];
  const width = Math.max(...options.map(([flag]) => flag.length)) + 2;
  return [
    'usage: npm run bench -- --driver NAME [options]',
    '',
    ...options.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    '',
    'Sizes: 512, 4KiB, 64MiB, 1GiB (K/M/G are binary too; KB/MB/GB are decimal).',
  ].join('\n');
}

const VALUE_FLAGS = new Set([
  '--driver',
  '--json',
  '--large',
  '--only',
  '--rounds',
  '--large-rounds',
  '--chunk',
  '--memory-size',
  '--driver-fsync',
  '--baseline-fsync',
]);
const BOOLEAN_FLAGS = new Set(['--quick', '--strict', '--peers', '--help', '-h']);

function positiveIntegerArgument(flag: string, value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < 1)
    throw new BenchUsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return parsed;
}

function onOff(flag: string, value: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new BenchUsageError(`${flag} must be on or off, got ${JSON.stringify(value)}`);
}

function sizeArgument(flag: string, value: string, allowZero: boolean): number {
  let bytes: number;
  try {
    bytes = parseSize(value);
  } catch (err) {
    throw new BenchUsageError(`${flag}: ${(err as Error).message}`);
  }
  if (bytes === 0 && !allowZero) throw new BenchUsageError(`${flag} must be more than 0 bytes`);
  return bytes;
}

/** Parses the arguments after `node scripts/bench.js`; throws BenchUsageError on anything wrong. */
export function parseBenchArgs(argv: readonly string[], drivers: readonly string[]): BenchCliOptions {
  const options: BenchCliOptions = { driver: '', quick: false, strict: false, help: false };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (BOOLEAN_FLAGS.has(flag)) {
      if (eq !== -1) throw new BenchUsageError(`${flag} takes no value`);
      if (flag === '--quick') options.quick = true;
      else if (flag === '--strict') options.strict = true;
      else if (flag === '--peers') options.peers = true;
      else options.help = true;
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) throw new BenchUsageError(arg.startsWith('-') ? `unknown option ${flag}` : `unexpected argument ${JSON.stringify(arg)}`);
    if (seen.has(flag)) throw new BenchUsageError(`${flag} given twice`);
    seen.add(flag);
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new BenchUsageError(`${flag} needs a value`);
      value = next;
      i++;
    }
    if (value === '') throw new BenchUsageError(`${flag} needs a value`);
    switch (flag) {
      case '--driver':
        if (!drivers.includes(value)) throw new BenchUsageError(`unknown driver ${JSON.stringify(value)}; choose ${drivers.join(' or ')}`);
        options.driver = value;
        break;
      case '--json':
        options.jsonFile = value;
        break;
      case '--large':
        options.largeSize = sizeArgument(flag, value, false);
        break;
      case '--chunk':
        options.chunkSize = sizeArgument(flag, value, false);
        break;
      case '--memory-size':
        options.memorySize = sizeArgument(flag, value, true);
        break;
      case '--driver-fsync':
        options.driverFsync = onOff(flag, value);
        break;
      case '--baseline-fsync':
        options.baselineFsync = onOff(flag, value);
        break;
      case '--only': {
        const names = value
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n.length > 0);
        if (names.length === 0) throw new BenchUsageError('--only needs at least one name');
        options.only = names;
        break;
      }
      case '--rounds':
        options.rounds = positiveIntegerArgument(flag, value);
        break;
      case '--large-rounds':
        options.largeRounds = positiveIntegerArgument(flag, value);
        break;
    }
  }
  if (!options.help && options.driver === '') throw new BenchUsageError(`--driver is required (${drivers.join(' or ')})`);
  return options;
}
