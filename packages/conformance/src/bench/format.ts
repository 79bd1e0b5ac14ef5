import { formatBytes } from './size';
import type { BenchmarkEntry, BenchmarkResult, MemoryResult, TargetResult } from './types';

/** ops/s with three significant digits at most and thousands separators: 12,345 / 123 / 45.6 / 1.23. */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** MB/s with one decimal, or `-` for benchmarks that move no content. */
export function formatThroughput(value: number | null): string {
  if (value === null) return '-';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

export function formatRatio(value: number): string {
  return value.toFixed(2);
}

const HEADER = ['benchmark', 'ops/batch', 'rounds', 'driver ops/s', 'driver MB/s', 'baseline ops/s', 'baseline MB/s', 'ratio'];

function row(entry: BenchmarkEntry): string[] {
  return [
    entry.name,
    String(entry.opsPerBatch),
    String(entry.rounds),
    formatRate(entry.driver.opsPerSec),
    formatThroughput(entry.driver.mbPerSec),
    formatRate(entry.baseline.opsPerSec),
    formatThroughput(entry.baseline.mbPerSec),
    formatRatio(entry.ratio),
  ];
}

/** Aligned columns: the first left-aligned, the rest right-aligned. */
export function alignColumns(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((r) => (r[column] ?? '').length)));
  return rows.map((cells) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function formatBenchmarkTable(entries: readonly BenchmarkEntry[]): string {
  if (entries.length === 0) return '(no benchmarks ran)';
  const lines = alignColumns([HEADER, ...entries.map(row)]);
  lines.splice(1, 0, '-'.repeat(lines[0]!.length));
  return lines.join('\n');
}

export function formatMemory(memory: MemoryResult): string {
  const verdict = (growth: number) => (growth <= memory.limitBytes ? 'PASS' : 'FAIL');
  const basis = memory.contentInProcess ? 'growth beyond the stored bytes' : 'growth';
  const gcNote = memory.gcAvailable ? '' : ' (no GC exposed: run node with --expose-gc for a steadier baseline)';
  const phase = (label: string, p: MemoryResult['driver']['write']) =>
    `${label} ${formatBytes(p.peakRssGrowth)}${memory.contentInProcess ? ` (checked: ${formatBytes(p.checkedGrowth)})` : ''}`;
  return [
    `Memory: peak RSS ${basis} while streaming ${formatBytes(memory.size)} in ${formatBytes(memory.chunkSize)} chunks, limit ${formatBytes(memory.limitBytes)}${gcNote}`,
    `  driver   ${phase('writer+commit', memory.driver.write)} ${verdict(memory.driver.write.checkedGrowth)}; ${phase('reader', memory.driver.read)} (not judged: mostly read chunks awaiting GC)`,
    `  baseline ${phase('write', memory.baseline.write)}; ${phase('read', memory.baseline.read)} (for reference)`,
    `  memory check: ${memory.pass ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}

export function formatTargets(targets: readonly TargetResult[]): string {
  if (targets.length === 0) return 'Targets: none';
  const parts = targets.map((t) => (t.ratio === null ? `${t.benchmark} not run` : `${t.benchmark} ${formatRatio(t.ratio)} ${t.pass ? 'PASS' : 'FAIL'}`));
  const bounds = [...new Set(targets.map((t) => formatRatio(t.minRatio)))].join('/');
  return `Targets (driver/baseline >= ${bounds}): ${parts.join(', ')}`;
}

/** The whole report: a heading, the table, the memory check and the target line. */
export function formatReport(result: BenchmarkResult): string {
  const s = result.settings;
  const heading =
    `Stowage benchmarks: driver ${result.driver} vs baseline ${result.baseline} — median of ${s.rounds} rounds ` +
    `(${s.largeRounds} for 64 MiB and more), ratio = median of per-round driver/baseline, MB/s = 10^6 bytes of content per second, ` +
    `chunks of ${formatBytes(s.chunkSize)}, ${(result.durationMs / 1000).toFixed(1)} s`;
  const parts = [heading, '', formatBenchmarkTable(result.benchmarks), ''];
  if (result.memory) parts.push(formatMemory(result.memory), '');
  parts.push(formatTargets(result.targets));
  parts.push(`Overall: ${result.passed ? 'PASS' : 'FAIL'}`);
  return parts.join('\n');
}
