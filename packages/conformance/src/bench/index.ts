export { runBenchmarks, runBenchmarkRound, DEFAULT_TARGETS, CLOUD_TARGETS, MEMORY_CHECK_NAME } from './runner';
export type {
  Baseline,
  BenchmarkOptions,
  BenchmarkResult,
  BenchmarkRoundOptions,
  BenchmarkRoundEntry,
  BenchmarkRoundResult,
  BenchmarkEntry,
  BenchmarkTarget,
  SideResult,
  MemoryCheckOptions,
  MemoryPhase,
  MemoryResult,
  TargetResult,
} from './types';
export { driverAsBaseline, nodeFsBaseline, bufferBaseline, type NodeFsBaselineOptions, type BufferBaselineOptions } from './baselines';
export { benchmarkCatalog, matchesPattern, LARGE_THRESHOLD, STREAM_TARGET_SIZE, type CatalogEntry } from './cases';
export { formatReport, formatBenchmarkTable, formatMemory, formatTargets, formatRate, formatThroughput, formatRatio, alignColumns } from './format';
export { median, opsPerSecond, megabytesPerSecond, pairedRatio, summariseSide, evaluateTargets } from './stats';
export { parseSize, sizeLabel, formatBytes } from './size';
export { parseBenchArgs, benchUsage, BenchUsageError, type BenchCliOptions } from './cli';
export { BenchData, MAX_POOL_SIZE } from './bench-data';
export { RssSampler, measureStreamMemory } from './memory';
