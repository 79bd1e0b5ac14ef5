import type { Readable } from 'node:stream';

/**
 * The raw work a benchmark's driver is compared with: the same operations done with the plainest
 * calls of the backend (Node's fs for the filesystem driver, Buffer copies for in-memory, bare SDK
 * calls for a cloud driver). The benchmarks run the driver through this same interface
 * (see `driverAsBaseline`), so both sides do exactly the same harness work.
 *
 * Keys are driver-style absolute paths (`/stowage-bench-x1y2/PutGet1MiB/r0/f3`); a baseline maps
 * them onto its own storage. Directories are implied by the keys below them, as in a driver.
 */
export interface Baseline {
  /** Shown in the table and the JSON, e.g. `node:fs`. */
  readonly name: string;
  /** Called once before the first benchmark. */
  setup?(): Promise<void>;
  /** Called once at the end, also after a failure; removes everything the baseline created. */
  teardown?(): Promise<void>;
  /** Stores `content` at `key`, creating whatever parents the backend needs. */
  put(key: string, content: Buffer): Promise<void>;
  /** The whole content at `key`. */
  get(key: string): Promise<Uint8Array>;
  /** Stores the concatenated `chunks` at `key` as a stream; visible once the promise resolves. */
  streamWrite(key: string, chunks: Iterable<Uint8Array>): Promise<void>;
  /** The content at `key` as a stream the harness consumes to the end. */
  streamRead(key: string): Promise<Readable | AsyncIterable<Uint8Array>>;
  /** The keys of the direct children of `dir`, sorted. */
  list(dir: string): Promise<string[]>;
  /** Removes `key` and everything below it. */
  delete(key: string): Promise<void>;
}

/** A driver/baseline ratio the run is expected to reach, e.g. PutGet1MiB >= 0.90. */
export interface BenchmarkTarget {
  benchmark: string;
  minRatio: number;
}

export interface MemoryCheckOptions {
  /** Bytes streamed through the driver's writer (and read back); default 1 GiB. */
  size?: number;
  /** The bound on peak RSS growth; default 64 MiB. */
  limitBytes?: number;
  /**
   * The driver keeps committed content in this process (in-memory drivers): the bound then
   * applies to the growth beyond the stored bytes, which is what the driver adds on top.
   */
  contentInProcess?: boolean;
  /** How often RSS is sampled, besides after every chunk; default 5 ms. */
  sampleIntervalMs?: number;
}

export interface BenchmarkOptions {
  /** The raw work the driver is compared with, measured in the same run. */
  baseline: Baseline;
  /** The size of the large PutGet/Stream benchmarks (distribution's 1GB ones); default 1 GiB. */
  largeSize?: number;
  /** The chunk size of every stream write; default 1 MiB. */
  chunkSize?: number;
  /** Measured rounds per benchmark (median reported); default 5, 3 with `quick`. */
  rounds?: number;
  /** Rounds for benchmarks of 64 MiB and more (one operation per round); default 3, 2 with `quick`. */
  largeRounds?: number;
  /** Small operations are batched so that one timed batch lasts about this long; default 250 ms, 60 with `quick`. */
  minBatchMs?: number;
  /** A short run: fewer rounds, shorter batches, and a 64 MiB large size unless `largeSize` is given. */
  quick?: boolean;
  /** Run only these benchmarks (names as in the table or distribution's names, case-insensitive; `*` wildcards; `memory` for the memory check). */
  only?: string[];
  /** The streaming memory check; `false` skips it. On by default. */
  memory?: MemoryCheckOptions | false;
  /** Ratios to flag PASS/FAIL; default PutGet1MiB and Stream256MiB at 0.90. */
  targets?: BenchmarkTarget[];
  /** Also write the JSON result to this file. */
  jsonFile?: string;
  /** Where the table goes; default process.stdout, null for none. */
  output?: NodeJS.WritableStream | null;
  /** Progress lines; default to stderr, null for none. */
  log?: ((line: string) => void) | null;
  /** Run between batches and before memory baselines; default `globalThis.gc` when exposed. */
  gc?: () => void;
  /** Seed of the test data (random when omitted). */
  seed?: number;
}

/** One side (driver or baseline) of one benchmark. */
export interface SideResult {
  /** Median over the rounds. */
  opsPerSec: number;
  /** Median over the rounds, in MB/s (10^6 bytes) of file content; null for benchmarks that move no content. */
  mbPerSec: number | null;
  /** The best round. */
  bestOpsPerSec: number;
  /** Every round's ops/s, in order. */
  samples: number[];
}

export interface BenchmarkEntry {
  name: string;
  /** The matching benchmark of distribution's testsuites, if any. */
  distribution?: string;
  /** File content per operation (MB/s counts it once per op, as Go's b.SetBytes). */
  bytesPerOp: number;
  /** Operations per timed batch (a round times one batch per side). */
  opsPerBatch: number;
  rounds: number;
  driver: SideResult;
  baseline: SideResult;
  /** driver/baseline: the median of the per-round ratios (each round times both sides back to back). */
  ratio: number;
  ratioSamples: number[];
}

export interface MemoryPhase {
  /** Peak RSS minus RSS just before the phase (after a GC when available). */
  peakRssGrowth: number;
  /** What the bound was checked against: the growth, minus the stored bytes when content lives in the process. */
  checkedGrowth: number;
  durationMs: number;
  samples: number;
}

export interface MemoryResult {
  size: number;
  chunkSize: number;
  limitBytes: number;
  contentInProcess: boolean;
  /** Whether a GC ran before each phase (the RSS baseline is noisier without). */
  gcAvailable: boolean;
  driver: { write: MemoryPhase; read: MemoryPhase };
  baseline: { write: MemoryPhase; read: MemoryPhase };
  /** The driver's write phase stayed under the limit (the read phase is reported, not judged). */
  pass: boolean;
}

export interface TargetResult extends BenchmarkTarget {
  /** null when the benchmark did not run. */
  ratio: number | null;
  pass: boolean | null;
}

export interface BenchmarkResult {
  driver: string;
  baseline: string;
  startedAt: string;
  durationMs: number;
  environment: { node: string; platform: string; arch: string; cpus: number; totalMemory: number };
  settings: { largeSize: number; chunkSize: number; rounds: number; largeRounds: number; minBatchMs: number; quick: boolean; seed: number };
  benchmarks: BenchmarkEntry[];
  memory: MemoryResult | null;
  targets: TargetResult[];
  /** Every target that ran and the memory check (when it ran) passed. */
  passed: boolean;
}

/** Options of `runBenchmarkRound`: one round of the benchmarks on one target. */
export interface BenchmarkRoundOptions {
  /** The benchmarks to run, by exact name (see `benchmarkCatalog`); they run in catalog order. Default: all. */
  names?: string[];
  /** The size of the large PutGet/Stream benchmarks; default 1 GiB, 64 MiB with `quick`. */
  largeSize?: number;
  /** The chunk size of every stream write; default 1 MiB. */
  chunkSize?: number;
  /** Small operations are batched so that the timed batch lasts about this long; default 250 ms, 60 with `quick`. */
  minBatchMs?: number;
  /** Smaller defaults, as `BenchmarkOptions.quick`. */
  quick?: boolean;
  /** Seed of the test data (random when omitted): give every target of a comparison the same one. */
  seed?: number;
  /** Run between batches; default `globalThis.gc` when exposed. */
  gc?: () => void;
  /** Progress lines; default to stderr, null for none. */
  log?: ((line: string) => void) | null;
}

/** One benchmark of one round on one target. */
export interface BenchmarkRoundEntry {
  name: string;
  /** The matching benchmark of distribution's testsuites, if any. */
  distribution?: string;
  /** File content per operation. */
  bytesPerOp: number;
  /** Operations in the timed batch. */
  opsPerBatch: number;
  opsPerSec: number;
  /** MB/s (10^6 bytes) of content; null for benchmarks that move no content. */
  mbPerSec: number | null;
}

export interface BenchmarkRoundResult {
  /** The target's name. */
  target: string;
  settings: { largeSize: number; chunkSize: number; minBatchMs: number; quick: boolean; seed: number };
  benchmarks: BenchmarkRoundEntry[];
  durationMs: number;
}
