'use strict';
/**
 * The pure parts of `npm run bench:registry` (tested in test/unit/bench/registry.test.ts): the
 * command line, /proc/PID/stat parsing, per-side statistics, paired ratios, the targets and the
 * table. Nothing here starts a process or touches the disk.
 */
const bench = require('@stowage/conformance/bench');

const BACKENDS = ['filesystem', 's3', 'swift'];
const OPERATIONS = ['push', 'pull'];
const MiB = 1024 * 1024;

/**
 * The targets of issue 13: this registry's throughput at least `minThroughputRatio` of
 * docker-registry 2.8.2's, and its CPU seconds per operation at most `maxCpuRatio` of 2.8.2's.
 * On the clouds the bound is 0.9x for throughput and its inverse (1/0.9) for CPU.
 */
const TARGETS = {
  filesystem: { minThroughputRatio: 1.0, maxCpuRatio: 1.0 },
  s3: { minThroughputRatio: 0.9, maxCpuRatio: 1 / 0.9 },
  swift: { minThroughputRatio: 0.9, maxCpuRatio: 1 / 0.9 },
};

const DEFAULTS = {
  backends: [...BACKENDS],
  rounds: 5,
  warmup: 1,
  layers: 8,
  imageSize: 200 * MiB,
  quick: false,
  jsonFile: undefined,
  cpuProfDir: undefined,
  registryCli: undefined,
  keep: false,
  help: false,
};
/** --quick: a tiny image, one round, no warm-up; a smoke run that the script still works. */
const QUICK = { rounds: 1, warmup: 0, layers: 2, imageSize: 2 * MiB };

class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

const USAGE = `usage: npm run bench:registry -- [options]

Pushes and pulls a random, incompressible image with skopeo to this registry (stowage-registry, its
own process) and to docker-registry 2.8.2 on the same backend, interleaved round by round, and
prints push/pull MB/s and each server's CPU seconds per push/pull (from /proc/PID/stat) with the
ratios stowage/docker-registry.

  --backends LIST   comma-separated, of ${BACKENDS.join(', ')} (default: all; s3 and swift start the local Swift)
  --rounds N        measured rounds (default ${DEFAULTS.rounds})
  --warmup N        unmeasured rounds first (default ${DEFAULTS.warmup})
  --image-size SIZE total layer bytes, e.g. 200MiB (default 200MiB)
  --layers N        layers the image is split into (default ${DEFAULTS.layers})
  --json FILE       where the JSON goes (default: a file in the temp dir; - for stdout alone)
  --cpu-prof DIR    run stowage-registry under node --cpu-prof, writing its profiles to DIR
  --registry-cli F  another build's bin or dist/cli.js instead of examples/registry's (before/after a change)
  --keep            leave the storage directories / objects in place
  --quick           smoke run: ${QUICK.layers} layers of ${QUICK.imageSize / QUICK.layers / MiB} MiB, ${QUICK.rounds} round, no warm-up
  --help`;

function positiveInteger(flag, text, min) {
  if (!/^\d+$/.test(text ?? '') || Number(text) < min) throw new UsageError(`${flag} needs an integer >= ${min}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses the command line into the options above; throws UsageError on a mistake. */
function parseArgs(argv) {
  const options = { ...DEFAULTS, backends: [...DEFAULTS.backends] };
  const given = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    given.add(flag);
    switch (flag) {
      case '--backends': {
        const names = value()
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean);
        const unknown = names.filter((name) => !BACKENDS.includes(name));
        if (names.length === 0 || unknown.length > 0)
          throw new UsageError(`--backends: unknown ${unknown.join(', ') || '(empty)'} (known: ${BACKENDS.join(', ')})`);
        options.backends = [...new Set(names)];
        break;
      }
      case '--rounds':
        options.rounds = positiveInteger(flag, value(), 1);
        break;
      case '--warmup':
        options.warmup = positiveInteger(flag, value(), 0);
        break;
      case '--layers':
        options.layers = positiveInteger(flag, value(), 1);
        break;
      case '--image-size':
        try {
          options.imageSize = bench.parseSize(value());
        } catch (err) {
          throw new UsageError(`--image-size: ${err instanceof Error ? err.message : String(err)}`);
        }
        break;
      case '--json':
        options.jsonFile = value();
        break;
      case '--cpu-prof':
        options.cpuProfDir = value();
        break;
      case '--registry-cli':
        options.registryCli = value();
        break;
      case '--keep':
        options.keep = true;
        break;
      case '--quick':
        options.quick = true;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (options.quick) {
    // --quick sets the small defaults; flags given alongside it still win.
    /** @type {Array<[string, string]>} */
    const quickFlags = [
      ['rounds', '--rounds'],
      ['warmup', '--warmup'],
      ['layers', '--layers'],
      ['imageSize', '--image-size'],
    ];
    for (const [key, flag] of quickFlags) {
      if (!given.has(flag)) options[key] = QUICK[key];
    }
  }
  if (options.imageSize < options.layers) throw new UsageError(`--image-size ${options.imageSize} is smaller than --layers ${options.layers} bytes`);
  return options;
}

/** `total` bytes split into `count` layer sizes that differ by at most one byte and sum to `total`. */
function layerSizes(total, count) {
  const base = Math.floor(total / count);
  return Array.from({ length: count }, (_, i) => base + (i < total % count ? 1 : 0));
}

/**
 * utime + stime of a /proc/PID/stat line, in clock ticks. The second field (the command name) is
 * in parentheses and may itself hold spaces and parentheses, so the fields are counted from the
 * last `)`: after it come state (field 3) ... utime (field 14) and stime (field 15).
 */
function parseProcStat(text) {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/PID/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime)) throw new Error(`no utime/stime in /proc/PID/stat: ${JSON.stringify(text.slice(0, 200))}`);
  return { utimeTicks: utime, stimeTicks: stime, ticks: utime + stime };
}

/** median, min and max of samples (with the samples). */
function spread(samples) {
  return { median: bench.median(samples), min: Math.min(...samples), max: Math.max(...samples), samples: [...samples] };
}

/**
 * One operation on one backend, from per-round samples of both sides (`seconds`, `cpuSeconds`)
 * moving `bytes` each: MB/s (10^6 bytes) and CPU seconds per operation, and the ratios
 * stowage/docker-registry as the median of the per-round ratios (each round measured both sides
 * back to back, so noise that lasts a round cancels in its ratio).
 */
function summariseOperation(backend, operation, bytes, stowage, distribution) {
  const side = (rounds) => ({
    mbPerSec: spread(rounds.seconds.map((s) => bytes / 1e6 / s)),
    seconds: spread(rounds.seconds),
    cpuSeconds: spread(rounds.cpuSeconds),
  });
  const a = side(stowage);
  const b = side(distribution);
  const throughput = bench.pairedRatio(a.mbPerSec.samples, b.mbPerSec.samples);
  // A side that used no measurable CPU (under one clock tick) would give an infinite or undefined ratio.
  const cpuSamples = a.cpuSeconds.samples.map((cpu, i) => (b.cpuSeconds.samples[i] > 0 ? cpu / b.cpuSeconds.samples[i] : null)).filter((r) => r !== null);
  const cpuRatio = cpuSamples.length ? bench.median(cpuSamples) : null;
  const target = TARGETS[backend];
  return {
    backend,
    operation,
    bytes,
    stowage: a,
    distribution: b,
    throughputRatio: throughput.ratio,
    throughputRatioSamples: throughput.ratioSamples,
    cpuRatio,
    cpuRatioSamples: cpuSamples,
    target: { ...target },
    pass: {
      throughput: throughput.ratio >= target.minThroughputRatio,
      cpu: cpuRatio === null ? null : cpuRatio <= target.maxCpuRatio,
    },
  };
}

function cell(value, digits) {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);
}

/** `median (min-max)` */
function range(s, digits) {
  return `${cell(s.median, digits)} (${cell(s.min, digits)}-${cell(s.max, digits)})`;
}

const HEADER = [
  'backend',
  'op',
  'stowage MB/s',
  'docker-registry MB/s',
  'ratio',
  'target',
  'stowage CPU s/op',
  'docker-registry CPU s/op',
  'CPU ratio',
  'target',
];

/** The table: one line per backend and operation; MB/s and CPU as median (min-max). */
function formatTable(entries) {
  if (entries.length === 0) return '(nothing measured)';
  const verdict = (pass) => (pass === null ? '-' : pass ? 'PASS' : 'FAIL');
  const rows = entries.map((e) => [
    e.backend,
    e.operation,
    range(e.stowage.mbPerSec, 1),
    range(e.distribution.mbPerSec, 1),
    e.throughputRatio.toFixed(2),
    `>=${e.target.minThroughputRatio.toFixed(2)} ${verdict(e.pass.throughput)}`,
    range(e.stowage.cpuSeconds, 2),
    range(e.distribution.cpuSeconds, 2),
    e.cpuRatio === null ? '-' : e.cpuRatio.toFixed(2),
    `<=${e.target.maxCpuRatio.toFixed(2)} ${verdict(e.pass.cpu)}`,
  ]);
  const lines = bench.alignColumns([HEADER, ...rows]);
  lines.splice(1, 0, '-'.repeat(Math.max(...lines.map((l) => l.length))));
  return lines.join('\n');
}

/** PASS when every target that has a verdict holds. */
function overallPass(entries) {
  return entries.every((e) => e.pass.throughput && e.pass.cpu !== false);
}

module.exports = {
  BACKENDS,
  OPERATIONS,
  TARGETS,
  DEFAULTS,
  QUICK,
  USAGE,
  UsageError,
  parseArgs,
  layerSizes,
  parseProcStat,
  spread,
  summariseOperation,
  formatTable,
  overallPass,
};
