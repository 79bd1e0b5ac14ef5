/**
 * The bench HTML report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
 * with throughput charts per benchmark, driver next to baseline, and the ratio chart against the
 * targets, followed by the table and the memory check.
 */
import { formatBytes, formatRate, formatRatio, formatThroughput, type BenchmarkEntry, type BenchmarkResult } from '@stowage/conformance/bench';
import { escapeHtml, htmlPage } from '../html';

/** Chart colours; the screenshot test looks for DRIVER_COLOUR in the rendered page. */
export const DRIVER_COLOUR = '#2f6fde';
export const BASELINE_COLOUR = '#f08c2e';
const TARGET_COLOUR = '#cf222e';

const LABEL_WIDTH = 190;
const BAR_AREA = 520;
const VALUE_WIDTH = 110;
const BAR_HEIGHT = 14;
const GROUP_GAP = 12;

interface Series {
  label: string;
  colour: string;
  value: (entry: BenchmarkEntry) => number;
}

/** Horizontal grouped bars, one group per benchmark, on a linear axis from 0. */
function barChart(
  title: string,
  entries: readonly BenchmarkEntry[],
  series: readonly Series[],
  format: (v: number) => string,
  marker?: { value: number; label: string },
): string {
  const max = Math.max(...entries.flatMap((e) => series.map((s) => s.value(e))), marker?.value ?? 0) || 1;
  const groupHeight = series.length * BAR_HEIGHT + GROUP_GAP;
  const top = 28;
  const height = top + entries.length * groupHeight + 8;
  const width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH;
  const scale = (v: number) => (Math.max(0, v) / max) * BAR_AREA;
  // Legend entries side by side, each as wide as its label (about 7 px a character at 12 px).
  let legendX = LABEL_WIDTH;
  const legend = series
    .map((s) => {
      const x = legendX;
      legendX += 18 + s.label.length * 7 + 24;
      return `<rect x="${x}" y="6" width="12" height="12" fill="${s.colour}"/><text x="${x + 18}" y="16">${escapeHtml(s.label)}</text>`;
    })
    .join('');
  const groups = entries
    .map((entry, row) => {
      const y = top + row * groupHeight;
      const bars = series
        .map((s, i) => {
          const value = s.value(entry);
          const barY = y + i * BAR_HEIGHT;
          return (
            `<rect x="${LABEL_WIDTH}" y="${barY}" width="${scale(value).toFixed(1)}" height="${BAR_HEIGHT - 2}" fill="${s.colour}"><title>${escapeHtml(`${entry.name} ${s.label}: ${format(value)}`)}</title></rect>` +
            `<text x="${(LABEL_WIDTH + scale(value) + 4).toFixed(1)}" y="${barY + BAR_HEIGHT - 4}" class="value">${escapeHtml(format(value))}</text>`
          );
        })
        .join('');
      return `<text x="${LABEL_WIDTH - 8}" y="${y + (series.length * BAR_HEIGHT) / 2 + 4}" text-anchor="end">${escapeHtml(entry.name)}</text>${bars}`;
    })
    .join('\n');
  const markerLine = marker
    ? `<line x1="${LABEL_WIDTH + scale(marker.value)}" y1="${top - 4}" x2="${LABEL_WIDTH + scale(marker.value)}" y2="${height - 4}" stroke="${TARGET_COLOUR}" stroke-dasharray="4 3"/>` +
      `<text x="${LABEL_WIDTH + scale(marker.value) + 4}" y="${top - 8}" fill="${TARGET_COLOUR}">${escapeHtml(marker.label)}</text>`
    : '';
  return `<h2>${escapeHtml(title)}</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">
<line x1="${LABEL_WIDTH}" y1="${top - 4}" x2="${LABEL_WIDTH}" y2="${height - 4}" stroke="#8b93a3"/>
${legend}
${groups}
${markerLine}
</svg>`;
}

function table(result: BenchmarkResult): string {
  const rows = result.benchmarks
    .map(
      (e) =>
        `<tr><td>${escapeHtml(e.name)}</td><td>${e.opsPerBatch}</td><td>${e.rounds}</td><td>${formatRate(e.driver.opsPerSec)}</td><td>${formatThroughput(e.driver.mbPerSec)}</td>` +
        `<td>${formatRate(e.baseline.opsPerSec)}</td><td>${formatThroughput(e.baseline.mbPerSec)}</td><td>${formatRatio(e.ratio)}</td></tr>`,
    )
    .join('\n');
  return `<table><tr><th>benchmark</th><th>ops/batch</th><th>rounds</th><th>driver ops/s</th><th>driver MB/s</th><th>baseline ops/s</th><th>baseline MB/s</th><th>ratio</th></tr>
${rows}
</table>`;
}

function verdict(pass: boolean | null): string {
  if (pass === null) return '<span class="skip">not run</span>';
  return pass ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
}

function memorySection(result: BenchmarkResult): string {
  const memory = result.memory;
  if (!memory) return '';
  return `<h2>Memory</h2>
<p>Peak RSS growth while streaming ${escapeHtml(formatBytes(memory.size))} through the driver's writer: ${escapeHtml(formatBytes(memory.driver.write.checkedGrowth))}
(limit ${escapeHtml(formatBytes(memory.limitBytes))}) ${verdict(memory.pass)}; baseline write ${escapeHtml(formatBytes(memory.baseline.write.peakRssGrowth))}.</p>`;
}

/** The whole page for one benchmark result. */
export function benchHtml(result: BenchmarkResult): string {
  const withContent = result.benchmarks.filter((e) => e.driver.mbPerSec !== null && e.bytesPerOp > 0);
  const withoutContent = result.benchmarks.filter((e) => !withContent.includes(e));
  const sides = (unit: (side: BenchmarkEntry['driver']) => number): Series[] => [
    { label: `driver (${result.driver})`, colour: DRIVER_COLOUR, value: (e) => unit(e.driver) },
    { label: `baseline (${result.baseline})`, colour: BASELINE_COLOUR, value: (e) => unit(e.baseline) },
  ];
  const targets = result.targets
    .map((t) => `<li>${escapeHtml(t.benchmark)} ≥ ${formatRatio(t.minRatio)}: ${t.ratio === null ? '' : `${formatRatio(t.ratio)} `}${verdict(t.pass)}</li>`)
    .join('');
  const minTarget = Math.min(...result.targets.map((t) => t.minRatio));
  const charts = [
    withContent.length
      ? barChart(
          'Throughput per benchmark (MB/s, higher is better)',
          withContent,
          sides((s) => s.mbPerSec ?? 0),
          formatThroughput,
        )
      : '',
    withoutContent.length
      ? barChart(
          'Operations per second (higher is better)',
          withoutContent,
          sides((s) => s.opsPerSec),
          formatRate,
        )
      : '',
    result.benchmarks.length
      ? barChart(
          'Driver / baseline (median of per-round ratios)',
          result.benchmarks,
          [{ label: 'ratio', colour: DRIVER_COLOUR, value: (e) => e.ratio }],
          formatRatio,
          Number.isFinite(minTarget) ? { value: minTarget, label: `target ${formatRatio(minTarget)}` } : { value: 1, label: '1.00' },
        )
      : '<p>No benchmarks ran.</p>',
  ].join('\n');
  const s = result.settings;
  const body = `<h1>Stowage benchmarks: ${escapeHtml(result.driver)} vs ${escapeHtml(result.baseline)} ${verdict(result.passed)}</h1>
<div class="meta">started ${escapeHtml(result.startedAt)} · ${(result.durationMs / 1000).toFixed(1)} s · median of ${s.rounds} rounds (${s.largeRounds} for 64 MiB and more) ·
chunks of ${escapeHtml(formatBytes(s.chunkSize))} · Node ${escapeHtml(result.environment.node)} on ${escapeHtml(result.environment.platform)}/${escapeHtml(result.environment.arch)}, ${result.environment.cpus} CPUs</div>
${targets ? `<ul>${targets}</ul>` : ''}
${charts}
<h2>Table</h2>
${table(result)}
${memorySection(result)}`;
  return htmlPage(
    `Stowage benchmarks: ${result.driver}`,
    body,
    'svg { display: block; margin: 8px 0 16px; font-size: 12px; } svg text { fill: #1d2433; } svg text.value { fill: #5b6475; }',
  );
}
