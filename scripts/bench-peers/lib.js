'use strict';
/**
 * The pure parts of `npm run bench -- --peers` (tested in test/unit/bench/peers.test.ts): the
 * options it accepts, the workload selection, the interleaved schedule, the medians and ratios,
 * the table and the JSON. Nothing here starts a process or touches the disk.
 */
const bench = require('@stowage/conformance/bench');

/** The drivers with peers: OpenDAL and flystorage have a memory and a local-filesystem backend. */
const PEER_DRIVERS = ['filesystem', 'inmemory'];

/** Every library, in table order; `peer` marks the other libraries Stowage is compared with. */
const LIBRARIES = [
  { id: 'stowage', label: 'Stowage', peer: false },
  { id: 'node', label: 'raw Node', peer: false },
  { id: 'opendal', label: 'OpenDAL', peer: true },
  { id: 'flystorage', label: 'flystorage', peer: true },
];

const DEFAULT_ROUNDS = 3;
const MiB = 1024 * 1024;

/**
 * The settings of a --peers run from the parsed command line; throws BenchUsageError for what
 * does not apply to it: another driver, the in-process memory check, --large-rounds (every round
 * is one process running every workload once) and --strict (there are no targets).
 */
function peersSettings(cli) {
  if (!PEER_DRIVERS.includes(cli.driver)) throw new bench.BenchUsageError(`--peers applies to --driver ${PEER_DRIVERS.join(' or ')}, not ${cli.driver}`);
  const unsupported = [
    ['--large-rounds', cli.largeRounds],
    ['--memory-size', cli.memorySize],
    ['--strict', cli.strict || undefined],
  ].filter(([, value]) => value !== undefined);
  if (unsupported.length > 0) {
    throw new bench.BenchUsageError(
      `${unsupported.map(([flag]) => flag).join(', ')} ${unsupported.length === 1 ? 'does' : 'do'} not apply to --peers (one process per library and round runs each workload once; no memory check, no targets)`,
    );
  }
  const largeSize = cli.largeSize ?? (cli.quick ? 64 * MiB : 1024 * MiB);
  return {
    driver: cli.driver,
    rounds: cli.rounds ?? DEFAULT_ROUNDS,
    quick: cli.quick,
    largeSize,
    chunkSize: cli.chunkSize ?? MiB,
    names: selectNames(bench.benchmarkCatalog(largeSize), cli.only),
    driverFsync: cli.driverFsync,
    baselineFsync: cli.baselineFsync,
  };
}

/** The exact names `only` selects from `catalog` (by name, distribution's name, or that name without `Benchmark`), in catalog order. */
function selectNames(catalog, only) {
  if (!only) return catalog.map((c) => c.name);
  const matches = (pattern, c) => bench.matchesPattern(pattern, c.name, c.distribution, c.distribution?.replace(/^Benchmark/, ''));
  const unknown = only.filter((pattern) => !catalog.some((c) => matches(pattern, c)));
  if (unknown.length > 0) {
    const memory = unknown.some((pattern) => bench.matchesPattern(pattern, bench.MEMORY_CHECK_NAME)) ? ' (the memory check is not part of --peers)' : '';
    throw new bench.BenchUsageError(`no workload matches ${unknown.join(', ')}${memory}; names: ${catalog.map((c) => c.name).join(', ')}`);
  }
  return catalog.filter((c) => only.some((pattern) => matches(pattern, c))).map((c) => c.name);
}

/**
 * The order the processes run in: round 1 of every library, then round 2, and so on; each round
 * starts one library later, so that no library always runs right after the same other one.
 */
function interleave(rounds, libraryIds) {
  const runs = [];
  for (let round = 1; round <= rounds; round++) {
    for (let i = 0; i < libraryIds.length; i++) runs.push({ round, library: libraryIds[(round - 1 + i) % libraryIds.length] });
  }
  return runs;
}

/** µs per operation for workloads under 1 MiB of content, MB/s from 1 MiB on (the table). */
function unitFor(bytesPerOp) {
  return bytesPerOp >= MiB ? 'MB/s' : 'µs/op';
}

/**
 * Per workload and library: every round's figure and the medians; then Stowage's speed against
 * the faster peer and against raw Node (ratios of the medians' ops/s: above 1, Stowage is faster).
 * `runs` are `{ round, library, result }` with `result` a runBenchmarkRound result. A library with
 * no figure for a workload gets null there, shown as n/a.
 */
function summarise(runs, libraryIds, names) {
  const peers = LIBRARIES.filter((l) => l.peer && libraryIds.includes(l.id)).map((l) => l.id);
  return names.map((name) => {
    let meta;
    const results = {};
    for (const id of libraryIds) {
      const rounds = [];
      for (const run of runs.filter((r) => r.library === id)) {
        const entry = run.result.benchmarks.find((b) => b.name === name);
        if (!entry) continue;
        meta ??= entry;
        rounds.push({ round: run.round, opsPerSec: entry.opsPerSec, mbPerSec: entry.mbPerSec, opsPerBatch: entry.opsPerBatch });
      }
      results[id] = rounds.length === 0 ? null : { opsPerSec: bench.median(rounds.map((r) => r.opsPerSec)), rounds };
    }
    const bytesPerOp = meta?.bytesPerOp ?? 0;
    const unit = unitFor(bytesPerOp);
    for (const cell of Object.values(results)) {
      if (!cell) continue;
      cell.mbPerSec = bytesPerOp > 0 ? (cell.opsPerSec * bytesPerOp) / 1e6 : null;
      cell.usPerOp = 1e6 / cell.opsPerSec;
    }
    const measuredPeers = peers.filter((id) => results[id]);
    const bestPeer = measuredPeers.length === 0 ? null : measuredPeers.reduce((best, id) => (results[id].opsPerSec > results[best].opsPerSec ? id : best));
    const stowage = results.stowage;
    const ratio = (other) => (stowage && other ? stowage.opsPerSec / other.opsPerSec : null);
    return {
      name,
      ...(meta?.distribution ? { distribution: meta.distribution } : {}),
      bytesPerOp,
      unit,
      results,
      bestPeer,
      ratioToBestPeer: bestPeer ? ratio(results[bestPeer]) : null,
      ratioToNode: ratio(results.node),
    };
  });
}

function formatCell(unit, cell) {
  if (!cell) return 'n/a';
  return unit === 'MB/s' ? bench.formatThroughput(cell.mbPerSec) : bench.formatRate(cell.usPerOp);
}

/** The table: one column per library (its median), then Stowage / faster peer and Stowage / raw Node. */
function formatPeersTable(rows, libraries) {
  // The ratio names the peer without its version: the column header has it.
  const labelOf = (id) => LIBRARIES.find((l) => l.id === id)?.label ?? id;
  const header = ['workload', 'unit', ...libraries.map((l) => l.label), 'Stowage/best peer', 'Stowage/raw Node'];
  const body = rows.map((row) => [
    row.name,
    row.unit,
    ...libraries.map((l) => formatCell(row.unit, row.results[l.id])),
    row.ratioToBestPeer === null ? 'n/a' : `${bench.formatRatio(row.ratioToBestPeer)} (${labelOf(row.bestPeer)})`,
    row.ratioToNode === null ? 'n/a' : bench.formatRatio(row.ratioToNode),
  ]);
  const lines = bench.alignColumns([header, ...body]);
  lines.splice(1, 0, '-'.repeat((lines[0] ?? '').length));
  return lines.join('\n');
}

/** The whole report: heading, table, what each library ran, footnotes. */
function formatPeersReport(report) {
  const s = report.settings;
  const heading =
    `Stowage ${report.driver} vs its peers: median of ${s.rounds} interleaved round${s.rounds === 1 ? '' : 's'}, one process per library and round ` +
    `running every workload in order; µs/op (lower is better) under 1 MiB of content, MB/s (10^6 bytes, higher is better) from 1 MiB on; ` +
    `ratios are Stowage's speed over the other's (above 1: Stowage faster); ${(report.durationMs / 1000).toFixed(1)} s`;
  return [
    heading,
    '',
    formatPeersTable(report.benchmarks, report.libraries),
    '',
    ...report.libraries.map((l) => `${l.label}: ${l.describe}`),
    ...report.notes.map((note) => `Note: ${note}`),
  ].join('\n');
}

module.exports = { PEER_DRIVERS, LIBRARIES, DEFAULT_ROUNDS, peersSettings, selectNames, interleave, summarise, formatPeersTable, formatPeersReport };
