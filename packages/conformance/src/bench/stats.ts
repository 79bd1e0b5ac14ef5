import type { BenchmarkEntry, BenchmarkTarget, SideResult, TargetResult } from './types';

/** The median; the mean of the two middle values for an even count. Throws on an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Operations per second of a batch of `ops` operations that took `ms` milliseconds. */
export function opsPerSecond(ops: number, ms: number): number {
  // A batch faster than the timer's resolution still counts as fast, not as infinitely fast.
  return (ops * 1000) / Math.max(ms, 1e-3);
}

/** MB/s (10^6 bytes, as Go's benchmarks) for `opsPerSec` operations of `bytesPerOp`; null when no content moves. */
export function megabytesPerSecond(opsPerSec: number, bytesPerOp: number): number | null {
  return bytesPerOp > 0 ? (opsPerSec * bytesPerOp) / 1e6 : null;
}

/** Summarises one side's per-round ops/s samples. */
export function summariseSide(samples: readonly number[], bytesPerOp: number): SideResult {
  const opsPerSec = median(samples);
  return { opsPerSec, mbPerSec: megabytesPerSecond(opsPerSec, bytesPerOp), bestOpsPerSec: Math.max(...samples), samples: [...samples] };
}

/**
 * The driver/baseline ratio of paired rounds: each round times both sides back to back, so noise
 * that lasts a round hits both alike and cancels in that round's ratio; the median drops outliers.
 */
export function pairedRatio(driverSamples: readonly number[], baselineSamples: readonly number[]): { ratio: number; ratioSamples: number[] } {
  if (driverSamples.length !== baselineSamples.length || driverSamples.length === 0) {
    throw new RangeError(`paired ratio needs the same non-zero number of samples, got ${driverSamples.length} and ${baselineSamples.length}`);
  }
  const ratioSamples = driverSamples.map((d, i) => d / baselineSamples[i]!);
  return { ratio: median(ratioSamples), ratioSamples };
}

/** Checks each target against the benchmarks that ran; a target whose benchmark did not run has no verdict. */
export function evaluateTargets(targets: readonly BenchmarkTarget[], entries: readonly BenchmarkEntry[]): TargetResult[] {
  return targets.map((target) => {
    const entry = entries.find((e) => e.name.toLowerCase() === target.benchmark.toLowerCase());
    if (!entry) return { ...target, ratio: null, pass: null };
    return { ...target, ratio: entry.ratio, pass: entry.ratio >= target.minRatio };
  });
}
