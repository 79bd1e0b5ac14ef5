export * from './options';
export { describeConformance, PROFILES, resolveProfile } from './suite';
export {
  runBenchmarks,
  type BenchmarkOptions,
  type BenchmarkResult,
  type BenchmarkEntry,
  type BenchmarkTarget,
  type Baseline,
  type MemoryCheckOptions,
  type MemoryPhase,
  type MemoryResult,
  type SideResult,
  type TargetResult,
} from './bench';
export { TestData, randomContent, randomName, hashStream, sha256 } from './data';
export { effectiveProfile, PROFILE_ENV_VAR } from './suite';
export { runConformance, type ConformanceRunOptions, type ConformanceRunResult } from './programmatic';
