import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { MiB, GiB, isPathNotFound, type StorageDriver } from '@stowage/core';
import { randomName } from '../data';
import { BenchData } from './bench-data';
import { driverAsBaseline } from './baselines';
import { benchmarkCases, benchmarkCatalog, matchesPattern, type BenchCase } from './cases';
import { formatRate, formatRatio, formatReport, formatThroughput } from './format';
import { measureStreamMemory } from './memory';
import { formatBytes } from './size';
import { evaluateTargets, megabytesPerSecond, opsPerSecond, pairedRatio, summariseSide } from './stats';
import type {
  Baseline,
  BenchmarkEntry,
  BenchmarkOptions,
  BenchmarkResult,
  BenchmarkRoundEntry,
  BenchmarkRoundOptions,
  BenchmarkRoundResult,
  BenchmarkTarget,
  MemoryResult,
} from './types';

/** The issue's targets: the filesystem driver within 90% of raw Node fs for these two. */
export const DEFAULT_TARGETS: readonly BenchmarkTarget[] = [
  { benchmark: 'PutGet1MiB', minRatio: 0.9 },
  { benchmark: 'Stream256MiB', minRatio: 0.9 },
];

/** The cloud drivers' targets: 256 MiB stream write and read each within 90% of the plain SDK. */
export const CLOUD_TARGETS: readonly BenchmarkTarget[] = [
  { benchmark: 'StreamWrite256MiB', minRatio: 0.9 },
  { benchmark: 'StreamRead256MiB', minRatio: 0.9 },
];

/** The pseudo-benchmark name that selects the memory check in `only`. */
export const MEMORY_CHECK_NAME = 'Memory';

interface Settings {
  rounds: number;
  largeRounds: number;
  minBatchMs: number;
  gc: (() => void) | undefined;
  log: (line: string) => void;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`runBenchmarks: ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`runBenchmarks: ${name} must be a non-negative integer, got ${value}`);
  return value;
}

function checkBaseline(baseline: Baseline | undefined): Baseline {
  const required = ['put', 'get', 'streamWrite', 'streamRead', 'list', 'delete'] as const;
  if (!baseline || typeof baseline !== 'object') throw new TypeError('runBenchmarks: options.baseline is required (see nodeFsBaseline, bufferBaseline)');
  const missing = required.filter((method) => typeof baseline[method] !== 'function');
  if (missing.length > 0) throw new TypeError(`runBenchmarks: baseline ${baseline.name ?? '(unnamed)'} lacks ${missing.join(', ')}`);
  return baseline;
}

function isNotFound(err: unknown): boolean {
  return isPathNotFound(err) || (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Deletes `key` if it is there: cleanup must not fail because a batch already removed everything. */
async function removeIfPresent(target: Baseline, key: string): Promise<void> {
  try {
    await target.delete(key);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Whether `only` selects a benchmark, by its name, distribution's name, or that name without `Benchmark`. */
function selects(only: readonly string[] | undefined, name: string, distribution?: string): boolean {
  if (!only) return true;
  const bare = distribution?.replace(/^Benchmark/, '');
  return only.some((pattern) => matchesPattern(pattern, name, distribution, bare));
}

interface BatchTiming {
  /** The timed operations. */
  ms: number;
  /** The untimed preparation (what bounds how big a Delete batch may get). */
  prepareMs: number;
}

/** One timed batch of `ops` operations on one side, with its untimed preparation and cleanup. */
async function timeBatch(c: BenchCase, target: Baseline, sideDir: string, batchDir: string, ops: number, gc?: () => void): Promise<BatchTiming> {
  const dirs = { side: sideDir, batch: batchDir };
  const preparing = performance.now();
  if (c.prepareBatch) await c.prepareBatch(target, dirs, ops);
  const prepareMs = performance.now() - preparing;
  gc?.();
  const started = performance.now();
  for (let i = 0; i < ops; i++) await c.op(target, dirs, i);
  const ms = performance.now() - started;
  if (c.cleanupBatch) await removeIfPresent(target, batchDir);
  return { ms, prepareMs };
}

/**
 * Small operations are batched so a timed batch lasts about `minBatchMs` (the mean over `targets`,
 * each timed in turn). Calibration grows the batch until one really lasts half of that, so a cold
 * first sample cannot fix a tiny batch; it doubles as warm-up. Large benchmarks do one op per batch.
 */
async function calibrateOps(
  c: BenchCase,
  targets: readonly Baseline[],
  batch: (target: Baseline, ops: number) => Promise<BatchTiming>,
  minBatchMs: number,
): Promise<number> {
  // Untimed preparation may cost a few times the timed batch, not more: it would dominate the run.
  const maxPrepareMs = minBatchMs * 4;
  let ops = 1;
  if (c.large) return ops;
  for (let attempt = 0; attempt < 12 && ops < c.maxOpsPerBatch; attempt++) {
    const timings: BatchTiming[] = [];
    for (const target of targets) timings.push(await batch(target, ops));
    const mean = timings.reduce((sum, t) => sum + t.ms, 0) / timings.length;
    const prepare = Math.max(...timings.map((t) => t.prepareMs));
    // The first attempt is warm-up only: a cold first sample must not settle the batch size.
    if (attempt > 0 && (mean >= minBatchMs / 2 || prepare >= maxPrepareMs / 2)) break;
    const byTime = Math.ceil((ops * minBatchMs) / Math.max(mean, 1e-3));
    // At least one op: a first preparation slower than maxPrepareMs (a loaded machine, fsync) gave 0,
    // and a batch of 0 ops timed nothing (the peer bench's Delete5 once had no figure).
    const byPrepare = prepare > 0 ? Math.max(1, Math.floor((ops * maxPrepareMs) / prepare)) : Infinity;
    ops = Math.min(c.maxOpsPerBatch, byPrepare, Math.max(ops * 2, Math.min(byTime, ops * 16)));
  }
  return ops;
}

async function runCase(c: BenchCase, driver: Baseline, baseline: Baseline, prefix: string, settings: Settings): Promise<BenchmarkEntry> {
  const sideDir = `${prefix}/${c.name}`;
  let batchNumber = 0;
  const batch = (target: Baseline, ops: number) => timeBatch(c, target, sideDir, `${sideDir}/b${batchNumber++}`, ops, settings.gc);

  let failed = false;
  try {
    for (const target of [driver, baseline]) {
      if (c.setupSide) await c.setupSide(target, sideDir);
      if (c.verify) await c.verify(target, sideDir);
    }

    const ops = await calibrateOps(c, [driver, baseline], batch, settings.minBatchMs);
    const rounds = c.large ? settings.largeRounds : settings.rounds;
    const driverSamples: number[] = [];
    const baselineSamples: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first, so neither side always inherits the other's writeback or GC debt.
      const driverFirst = round % 2 === 0;
      const first = (await batch(driverFirst ? driver : baseline, ops)).ms;
      const second = (await batch(driverFirst ? baseline : driver, ops)).ms;
      driverSamples.push(opsPerSecond(ops, driverFirst ? first : second));
      baselineSamples.push(opsPerSecond(ops, driverFirst ? second : first));
    }

    const { ratio, ratioSamples } = pairedRatio(driverSamples, baselineSamples);
    const entry: BenchmarkEntry = {
      name: c.name,
      ...(c.distribution ? { distribution: c.distribution } : {}),
      bytesPerOp: c.bytesPerOp,
      opsPerBatch: ops,
      rounds,
      driver: summariseSide(driverSamples, c.bytesPerOp),
      baseline: summariseSide(baselineSamples, c.bytesPerOp),
      ratio,
      ratioSamples,
    };
    return entry;
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    for (const target of [driver, baseline]) {
      try {
        await removeIfPresent(target, sideDir);
      } catch (cleanupError) {
        // After a failure the first error is the one that matters; the cleanup error is only logged.
        // eslint-disable-next-line no-unsafe-finally -- with no earlier failure, a failed cleanup fails the run
        if (!failed) throw cleanupError;
        settings.log(`cleanup of ${sideDir} on ${target.name} failed: ${String(cleanupError)}`);
      }
    }
  }
}

function describeEntry(e: BenchmarkEntry): string {
  const mb = (v: number | null) => (v === null ? '' : ` ${formatThroughput(v)} MB/s`);
  return (
    `${e.name}: ${e.rounds} rounds x ${e.opsPerBatch} ops — driver ${formatRate(e.driver.opsPerSec)} ops/s${mb(e.driver.mbPerSec)}, ` +
    `baseline ${formatRate(e.baseline.opsPerSec)} ops/s${mb(e.baseline.mbPerSec)}, ratio ${formatRatio(e.ratio)}`
  );
}

/**
 * Runs distribution's BenchDriver benchmarks (plus a 256 MiB stream) on `driver`, each next to
 * `options.baseline` doing the same work in the same run, and the streaming memory check. Prints
 * the table to `options.output` (stdout by default), writes the JSON to `options.jsonFile` when
 * given, and returns the result. Everything it creates lives under one random prefix, removed at
 * the end, also after a failure.
 */
export async function runBenchmarks(driver: StorageDriver, options: BenchmarkOptions): Promise<BenchmarkResult> {
  const startedAt = new Date();
  const started = performance.now();
  const baseline = checkBaseline(options.baseline);
  const quick = options.quick ?? false;
  const largeSize = positiveInteger('largeSize', options.largeSize ?? (quick ? 64 * MiB : GiB));
  const chunkSize = positiveInteger('chunkSize', options.chunkSize ?? MiB);
  const rounds = positiveInteger('rounds', options.rounds ?? (quick ? 3 : 5));
  const largeRounds = positiveInteger('largeRounds', options.largeRounds ?? (quick ? 2 : 3));
  const minBatchMs = positiveInteger('minBatchMs', options.minBatchMs ?? (quick ? 60 : 250));
  const seed = options.seed ?? randomBytes(4).readUInt32LE(0);
  const log = options.log === undefined ? (line: string) => void process.stderr.write(`[bench] ${line}\n`) : (options.log ?? (() => undefined));
  const output = options.output === undefined ? process.stdout : options.output;
  const exposedGc = (globalThis as { gc?: () => void }).gc;
  const gc = options.gc ?? (typeof exposedGc === 'function' ? () => exposedGc() : undefined);
  const settings: Settings = { rounds, largeRounds, minBatchMs, gc, log };

  const only = options.only?.map((p) => p.trim()).filter((p) => p.length > 0);
  const selectsMemory = !only || only.some((pattern) => matchesPattern(pattern, MEMORY_CHECK_NAME));
  const memoryOptions = options.memory === false || !selectsMemory ? null : (options.memory ?? {});
  const memorySize = memoryOptions ? nonNegativeInteger('memory.size', memoryOptions.size ?? GiB) : 0;
  const memoryLimit = memoryOptions ? positiveInteger('memory.limitBytes', memoryOptions.limitBytes ?? 64 * MiB) : 0;

  // Select from the catalog first, so a bad `only` fails before the data is generated.
  const catalog = benchmarkCatalog(largeSize);
  if (only) {
    const unknown = only.filter((p) => !matchesPattern(p, MEMORY_CHECK_NAME) && !catalog.some((c) => selects([p], c.name, c.distribution)));
    if (unknown.length > 0) {
      throw new RangeError(
        `runBenchmarks: no benchmark matches ${unknown.join(', ')}; names: ${[...catalog.map((c) => c.name), MEMORY_CHECK_NAME].join(', ')}`,
      );
    }
  }
  const chosen = catalog.filter((c) => selects(only, c.name, c.distribution));
  const chosenNames = new Set(chosen.map((c) => c.name));

  const largestContent = Math.max(chunkSize, memorySize, ...chosen.map((c) => c.bytesPerOp));
  const generating = performance.now();
  const data = new BenchData(largestContent, chunkSize, seed);
  log(`generated ${formatBytes(data.pool.length)} of test data (seed ${seed}) in ${Math.round(performance.now() - generating)} ms`);
  const cases = benchmarkCases(largeSize, data).filter((c) => chosenNames.has(c.name));

  const driverSide = driverAsBaseline(driver);
  const prefix = `/stowage-bench-${randomName(10)}`;
  const entries: BenchmarkEntry[] = [];
  let memory: MemoryResult | null = null;

  await baseline.setup?.();
  try {
    for (const c of cases) {
      log(`${c.name} ...`);
      const entry = await runCase(c, driverSide, baseline, prefix, settings);
      data.release();
      entries.push(entry);
      log(describeEntry(entry));
    }
    if (memoryOptions && memorySize > 0) {
      log(`memory check: streaming ${formatBytes(memorySize)} ...`);
      memory = await runMemoryCheck(driverSide, baseline, data, `${prefix}/memory`, {
        size: memorySize,
        limitBytes: memoryLimit,
        contentInProcess: memoryOptions.contentInProcess ?? false,
        intervalMs: positiveInteger('memory.sampleIntervalMs', memoryOptions.sampleIntervalMs ?? 5),
        gc,
      });
      log(
        `memory check: driver peak RSS growth ${formatBytes(memory.driver.write.peakRssGrowth)} writing, ${formatBytes(memory.driver.read.peakRssGrowth)} reading: ${memory.pass ? 'PASS' : 'FAIL'}`,
      );
    }
  } finally {
    // Never leave anything behind; a cleanup failure must not hide the error that got us here.
    await removeIfPresent(driverSide, prefix).catch((err: unknown) => log(`cleanup of ${prefix} on ${driver.name} failed: ${String(err)}`));
    await Promise.resolve(baseline.teardown?.()).catch((err: unknown) => log(`baseline teardown failed: ${String(err)}`));
  }

  const targets = evaluateTargets(options.targets ?? DEFAULT_TARGETS, entries);
  const result: BenchmarkResult = {
    driver: driver.name,
    baseline: baseline.name,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    environment: { node: process.version, platform: process.platform, arch: process.arch, cpus: os.cpus().length, totalMemory: os.totalmem() },
    settings: { largeSize, chunkSize, rounds, largeRounds, minBatchMs, quick, seed },
    benchmarks: entries,
    memory,
    targets,
    passed: targets.every((t) => t.pass !== false) && (memory?.pass ?? true),
  };

  if (output) output.write(`${formatReport(result)}\n`);
  if (options.jsonFile) await writeFile(options.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** One benchmark, one timed batch on one target (after its calibration, which warms it up). */
async function runRoundCase(c: BenchCase, target: Baseline, prefix: string, settings: Settings): Promise<BenchmarkRoundEntry> {
  const sideDir = `${prefix}/${c.name}`;
  let batchNumber = 0;
  const batch = (t: Baseline, ops: number) => timeBatch(c, t, sideDir, `${sideDir}/b${batchNumber++}`, ops, settings.gc);
  let failed = false;
  try {
    if (c.setupSide) await c.setupSide(target, sideDir);
    if (c.verify) await c.verify(target, sideDir);
    const ops = await calibrateOps(c, [target], batch, settings.minBatchMs);
    const opsPerSec = opsPerSecond(ops, (await batch(target, ops)).ms);
    return {
      name: c.name,
      ...(c.distribution ? { distribution: c.distribution } : {}),
      bytesPerOp: c.bytesPerOp,
      opsPerBatch: ops,
      opsPerSec,
      mbPerSec: megabytesPerSecond(opsPerSec, c.bytesPerOp),
    };
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    try {
      await removeIfPresent(target, sideDir);
    } catch (cleanupError) {
      // eslint-disable-next-line no-unsafe-finally -- with no earlier failure, a failed cleanup fails the run
      if (!failed) throw cleanupError;
      settings.log(`cleanup of ${sideDir} on ${target.name} failed: ${String(cleanupError)}`);
    }
  }
}

/**
 * One round of the benchmarks on one target alone: for each benchmark (in catalog order) its
 * untimed setup and byte-for-byte check, the batch calibration (which warms it up) and one timed
 * batch. Meant for comparisons across processes, one target per process, where the caller
 * interleaves the rounds and takes the medians (`npm run bench -- --peers`). Everything it creates
 * lives under one random prefix, removed at the end, also after a failure.
 */
export async function runBenchmarkRound(target: Baseline, options: BenchmarkRoundOptions = {}): Promise<BenchmarkRoundResult> {
  const started = performance.now();
  checkBaseline(target);
  const quick = options.quick ?? false;
  const largeSize = positiveInteger('largeSize', options.largeSize ?? (quick ? 64 * MiB : GiB));
  const chunkSize = positiveInteger('chunkSize', options.chunkSize ?? MiB);
  const minBatchMs = positiveInteger('minBatchMs', options.minBatchMs ?? (quick ? 60 : 250));
  const seed = options.seed ?? randomBytes(4).readUInt32LE(0);
  const log = options.log === undefined ? (line: string) => void process.stderr.write(`[bench] ${line}\n`) : (options.log ?? (() => undefined));
  const exposedGc = (globalThis as { gc?: () => void }).gc;
  const gc = options.gc ?? (typeof exposedGc === 'function' ? () => exposedGc() : undefined);
  const settings: Settings = { rounds: 1, largeRounds: 1, minBatchMs, gc, log };

  const catalog = benchmarkCatalog(largeSize);
  const names = options.names ?? catalog.map((c) => c.name);
  const unknown = names.filter((name) => !catalog.some((c) => c.name === name));
  if (unknown.length > 0)
    throw new RangeError(`runBenchmarkRound: no benchmark is named ${unknown.join(', ')}; names: ${catalog.map((c) => c.name).join(', ')}`);
  const chosen = catalog.filter((c) => names.includes(c.name));

  const data = new BenchData(Math.max(chunkSize, ...chosen.map((c) => c.bytesPerOp)), chunkSize, seed);
  const cases = benchmarkCases(largeSize, data).filter((c) => names.includes(c.name));
  const prefix = `/stowage-bench-${randomName(10)}`;
  const entries: BenchmarkRoundEntry[] = [];
  await target.setup?.();
  try {
    for (const c of cases) {
      const entry = await runRoundCase(c, target, prefix, settings);
      data.release();
      entries.push(entry);
      log(
        `${target.name} ${c.name}: ${entry.opsPerBatch} ops, ${formatRate(entry.opsPerSec)} ops/s${entry.mbPerSec === null ? '' : ` ${formatThroughput(entry.mbPerSec)} MB/s`}`,
      );
    }
  } finally {
    await removeIfPresent(target, prefix).catch((err: unknown) => log(`cleanup of ${prefix} on ${target.name} failed: ${String(err)}`));
    await Promise.resolve(target.teardown?.()).catch((err: unknown) => log(`${target.name} teardown failed: ${String(err)}`));
  }
  return { target: target.name, settings: { largeSize, chunkSize, minBatchMs, quick, seed }, benchmarks: entries, durationMs: performance.now() - started };
}

async function runMemoryCheck(
  driver: Baseline,
  baseline: Baseline,
  data: BenchData,
  dir: string,
  opts: { size: number; limitBytes: number; contentInProcess: boolean; intervalMs: number; gc: (() => void) | undefined },
): Promise<MemoryResult> {
  const measure = async (target: Baseline) => {
    const key = `${dir}/stream`;
    try {
      return await measureStreamMemory(target, data, {
        key,
        size: opts.size,
        intervalMs: opts.intervalMs,
        contentInProcess: opts.contentInProcess,
        gc: opts.gc,
      });
    } finally {
      await removeIfPresent(target, dir);
    }
  };
  const driverPhases = await measure(driver);
  const baselinePhases = await measure(baseline);
  return {
    size: opts.size,
    chunkSize: data.chunkSize,
    limitBytes: opts.limitBytes,
    contentInProcess: opts.contentInProcess,
    gcAvailable: opts.gc !== undefined,
    driver: driverPhases,
    baseline: baselinePhases,
    // The bound is on the writer. A reader's growth is mostly chunks already read and not yet
    // collected (V8 collects Buffers after ~64 MB of external allocations): reported, not judged.
    pass: driverPhases.write.checkedGrowth <= opts.limitBytes,
  };
}
