import assert from 'node:assert/strict';
import * as bench from '@stowage/conformance/bench';
import { KiB, MiB, GiB } from '@stowage/core';

describe('bench: sizes', () => {
  it('parses binary and decimal sizes', () => {
    assert.equal(bench.parseSize('512'), 512);
    assert.equal(bench.parseSize('512B'), 512);
    assert.equal(bench.parseSize('4KiB'), 4 * KiB);
    assert.equal(bench.parseSize('4k'), 4 * KiB);
    assert.equal(bench.parseSize('64MiB'), 64 * MiB);
    assert.equal(bench.parseSize('64M'), 64 * MiB);
    assert.equal(bench.parseSize('1GiB'), GiB);
    assert.equal(bench.parseSize(' 1.5g '), 1.5 * GiB);
    assert.equal(bench.parseSize('10MB'), 10_000_000);
    assert.equal(bench.parseSize('2KB'), 2000);
  });

  it('rejects what is not a whole number of bytes', () => {
    for (const bad of ['', 'abc', '-1', '1XB', '0.5', '1.0000001KiB', '1 2']) {
      assert.throws(() => bench.parseSize(bad), RangeError, bad);
    }
  });

  it('labels sizes exactly, for benchmark names', () => {
    assert.equal(bench.sizeLabel(0), 'Empty');
    assert.equal(bench.sizeLabel(KiB), '1KiB');
    assert.equal(bench.sizeLabel(MiB), '1MiB');
    assert.equal(bench.sizeLabel(256 * MiB), '256MiB');
    assert.equal(bench.sizeLabel(GiB), '1GiB');
    assert.equal(bench.sizeLabel(1536 * MiB), '1536MiB');
    assert.equal(bench.sizeLabel(3 * MiB + 1), '3145729B');
  });

  it('formats sizes for people', () => {
    assert.equal(bench.formatBytes(0), '0 B');
    assert.equal(bench.formatBytes(1023), '1023 B');
    assert.equal(bench.formatBytes(64 * MiB), '64.00 MiB');
    assert.equal(bench.formatBytes(1.5 * GiB), '1.50 GiB');
    assert.equal(bench.formatBytes(-2 * MiB), '-2.00 MiB');
  });
});

describe('bench: statistics', () => {
  it('takes the median of odd and even counts, whatever the order', () => {
    assert.equal(bench.median([3, 1, 2]), 2);
    assert.equal(bench.median([4, 1, 3, 2]), 2.5);
    assert.equal(bench.median([7]), 7);
    assert.throws(() => bench.median([]), RangeError);
  });

  it('computes ops/s and MB/s (10^6 bytes, content counted once per op)', () => {
    assert.equal(bench.opsPerSecond(50, 250), 200);
    assert.ok(Number.isFinite(bench.opsPerSecond(10, 0)));
    assert.ok(Math.abs(bench.megabytesPerSecond(100, MiB)! - 104.8576) < 1e-9);
    assert.equal(bench.megabytesPerSecond(100, 0), null);
  });

  it('summarises a side: median, best, MB/s from the median', () => {
    const side = bench.summariseSide([100, 300, 200], MiB);
    assert.equal(side.opsPerSec, 200);
    assert.equal(side.bestOpsPerSec, 300);
    assert.ok(Math.abs(side.mbPerSec! - 209.7152) < 1e-9);
    assert.deepEqual(side.samples, [100, 300, 200]);
    assert.equal(bench.summariseSide([5], 0).mbPerSec, null);
  });

  it('pairs rounds: the ratio is the median of per-round ratios, not the ratio of medians', () => {
    const { ratio, ratioSamples } = bench.pairedRatio([100, 200, 300], [100, 100, 100]);
    assert.deepEqual(ratioSamples, [1, 2, 3]);
    assert.equal(ratio, 2);
    // Two rounds say 0.5, one noisy round says 1: pairing keeps 0.5, the medians alone would say 0.8.
    const drift = bench.pairedRatio([50, 100, 80], [100, 200, 80]);
    assert.equal(drift.ratio, 0.5);
    assert.equal(bench.median([50, 100, 80]) / bench.median([100, 200, 80]), 0.8);
  });

  it('refuses unpaired samples', () => {
    assert.throws(() => bench.pairedRatio([1, 2], [1]), RangeError);
    assert.throws(() => bench.pairedRatio([], []), RangeError);
  });

  it('evaluates targets case-insensitively; a benchmark that did not run has no verdict', () => {
    const entry = (name: string, ratio: number) => ({
      name,
      ratio,
      bytesPerOp: 0,
      opsPerBatch: 1,
      rounds: 1,
      ratioSamples: [ratio],
      driver: bench.summariseSide([1], 0),
      baseline: bench.summariseSide([1], 0),
    });
    const results = bench.evaluateTargets(
      [
        { benchmark: 'putget1mib', minRatio: 0.9 },
        { benchmark: 'Stream256MiB', minRatio: 0.9 },
        { benchmark: 'List5', minRatio: 0.9 },
      ],
      [entry('PutGet1MiB', 0.95), entry('Stream256MiB', 0.89)],
    );
    assert.deepEqual(
      results.map((r) => [r.benchmark, r.ratio, r.pass]),
      [
        ['putget1mib', 0.95, true],
        ['Stream256MiB', 0.89, false],
        ['List5', null, null],
      ],
    );
  });
});

describe('bench: formatting', () => {
  const side = (ops: number, bytes: number) => bench.summariseSide([ops], bytes);
  const entries = [
    {
      name: 'PutGetEmpty',
      bytesPerOp: 0,
      opsPerBatch: 4096,
      rounds: 5,
      driver: side(12345.6, 0),
      baseline: side(23456.7, 0),
      ratio: 0.5263,
      ratioSamples: [0.5263],
    },
    {
      name: 'Stream256MiB',
      bytesPerOp: 256 * MiB,
      opsPerBatch: 1,
      rounds: 3,
      driver: side(1.9, 256 * MiB),
      baseline: side(2, 256 * MiB),
      ratio: 0.95,
      ratioSamples: [0.95],
    },
  ];

  it('formats rates with thousands separators and few digits', () => {
    assert.equal(bench.formatRate(12345.6), '12,346');
    assert.equal(bench.formatRate(123.4), '123');
    assert.equal(bench.formatRate(45.67), '45.7');
    assert.equal(bench.formatRate(1.234), '1.23');
    assert.equal(bench.formatThroughput(null), '-');
    assert.equal(bench.formatThroughput(509.6), '510');
    assert.equal(bench.formatThroughput(8.64), '8.6');
    assert.equal(bench.formatRatio(0.9049), '0.90');
  });

  it('prints an aligned table with a dash for benchmarks that move no content', () => {
    const lines = bench.formatBenchmarkTable(entries).split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^benchmark\s+ops\/batch\s+rounds\s+driver ops\/s\s+driver MB\/s\s+baseline ops\/s\s+baseline MB\/s\s+ratio$/);
    assert.match(lines[1]!, /^-+$/);
    // Right-aligned numeric columns: every line ends at the same column.
    assert.equal(new Set(lines.map((l) => l.length)).size, 1);
    assert.deepEqual(lines[2]!.split(/\s+/), ['PutGetEmpty', '4096', '5', '12,346', '-', '23,457', '-', '0.53']);
    assert.deepEqual(lines[3]!.split(/\s+/), ['Stream256MiB', '1', '3', '1.90', '510', '2.00', '537', '0.95']);
    assert.equal(bench.formatBenchmarkTable([]), '(no benchmarks ran)');
  });

  it('prints the target line with PASS, FAIL and not run', () => {
    const line = bench.formatTargets([
      { benchmark: 'PutGet1MiB', minRatio: 0.9, ratio: 0.953, pass: true },
      { benchmark: 'Stream256MiB', minRatio: 0.9, ratio: 0.5, pass: false },
      { benchmark: 'List5', minRatio: 0.9, ratio: null, pass: null },
    ]);
    assert.equal(line, 'Targets (driver/baseline >= 0.90): PutGet1MiB 0.95 PASS, Stream256MiB 0.50 FAIL, List5 not run');
  });

  it('flags the memory bound on the driver phases, subtracting stored content when it lives in the process', () => {
    const phase = (growth: number, checked: number) => ({ peakRssGrowth: growth, checkedGrowth: checked, durationMs: 1, samples: 10 });
    const memory = {
      size: GiB,
      chunkSize: MiB,
      limitBytes: 64 * MiB,
      contentInProcess: false,
      gcAvailable: true,
      driver: { write: phase(10 * MiB, 10 * MiB), read: phase(80 * MiB, 80 * MiB) },
      baseline: { write: phase(MiB, MiB), read: phase(MiB, MiB) },
      pass: true,
    };
    const text = bench.formatMemory(memory);
    assert.match(text, /writer\+commit 10\.00 MiB PASS; reader 80\.00 MiB \(not judged/);
    assert.match(text, /memory check: PASS/);
    const failing = bench.formatMemory({ ...memory, pass: false, driver: { write: phase(65 * MiB, 65 * MiB), read: phase(0, 0) } });
    assert.match(failing, /writer\+commit 65\.00 MiB FAIL/);
    assert.match(failing, /memory check: FAIL/);
    assert.match(text, /limit 64\.00 MiB/);
    const inProcess = bench.formatMemory({ ...memory, contentInProcess: true, pass: true, driver: { write: phase(GiB + MiB, MiB), read: phase(0, 0) } });
    assert.match(inProcess, /beyond the stored bytes/);
    assert.match(inProcess, /writer\+commit 1\.00 GiB \(checked: 1\.00 MiB\) PASS/);
  });

  it('ends the report with the targets and an overall verdict', () => {
    const report = bench.formatReport({
      driver: 'filesystem',
      baseline: 'node:fs',
      startedAt: new Date(0).toISOString(),
      durationMs: 12_300,
      environment: { node: 'v20', platform: 'linux', arch: 'x64', cpus: 2, totalMemory: 1 },
      settings: { largeSize: GiB, chunkSize: MiB, rounds: 5, largeRounds: 3, minBatchMs: 250, quick: false, seed: 1 },
      benchmarks: entries,
      memory: null,
      targets: [{ benchmark: 'Stream256MiB', minRatio: 0.9, ratio: 0.95, pass: true }],
      passed: true,
    });
    const lines = report.split('\n');
    assert.match(lines[0]!, /driver filesystem vs baseline node:fs .*median of 5 rounds .*12\.3 s/);
    assert.equal(lines.at(-2), 'Targets (driver/baseline >= 0.90): Stream256MiB 0.95 PASS');
    assert.equal(lines.at(-1), 'Overall: PASS');
  });
});

describe('bench: catalog and selection', () => {
  it("lists distribution's BenchDriver benchmarks plus the 256 MiB stream, whole and as its two halves", () => {
    const catalog = bench.benchmarkCatalog(GiB);
    assert.deepEqual(
      catalog.map((c) => c.name),
      [
        'PutGetEmpty',
        'PutGet1KiB',
        'PutGet1MiB',
        'PutGet1GiB',
        'StreamEmpty',
        'Stream1KiB',
        'Stream1MiB',
        'Stream1GiB',
        'Stream256MiB',
        'StreamWrite256MiB',
        'StreamRead256MiB',
        'List5',
        'List50',
        'Delete5',
        'Delete50',
      ],
    );
    assert.equal(catalog.find((c) => c.name === 'StreamRead256MiB')?.bytesPerOp, 256 * MiB);
    assert.equal(catalog.find((c) => c.name === 'PutGet1GiB')?.distribution, 'BenchmarkPutGet1GBFiles');
    assert.equal(catalog.find((c) => c.name === 'Stream1GiB')?.bytesPerOp, GiB);
    assert.equal(catalog.find((c) => c.name === 'Stream256MiB')?.distribution, undefined);
    assert.equal(catalog.find((c) => c.name === 'Delete50')?.bytesPerOp, 0);
  });

  it('does not repeat a benchmark when the large size equals another size', () => {
    const names = bench.benchmarkCatalog(256 * MiB).map((c) => c.name);
    assert.equal(names.filter((n) => n === 'Stream256MiB').length, 1);
    assert.ok(names.includes('PutGet256MiB'));
    assert.equal(bench.benchmarkCatalog(MiB).length, 13);
  });

  it('matches names case-insensitively with * wildcards and nothing else', () => {
    assert.ok(bench.matchesPattern('putget1mib', 'PutGet1MiB'));
    assert.ok(bench.matchesPattern('Stream*', 'Stream256MiB'));
    assert.ok(bench.matchesPattern('*1MiB', 'Stream1MiB'));
    assert.ok(bench.matchesPattern('BenchmarkList5Files', 'List5', 'BenchmarkList5Files'));
    assert.ok(!bench.matchesPattern('List5', 'List50'));
    assert.ok(!bench.matchesPattern('PutGet1.iB', 'PutGet1MiB'), 'a dot is not a regex wildcard');
    assert.ok(!bench.matchesPattern('List5', undefined));
  });
});

describe('bench: command-line arguments', () => {
  const drivers = ['filesystem', 'inmemory'];
  const parse = (...argv: string[]) => bench.parseBenchArgs(argv, drivers);
  const usageError = (fragment: RegExp) => (err: unknown) => err instanceof bench.BenchUsageError && fragment.test((err as Error).message);

  it('parses every option, with a space or =', () => {
    assert.deepEqual(parse('--driver', 'filesystem'), { driver: 'filesystem', quick: false, strict: false, help: false });
    const all = parse(
      '--driver=inmemory',
      '--json',
      'out.json',
      '--large',
      '64MiB',
      '--quick',
      '--only',
      'PutGet1MiB, Stream256MiB',
      '--rounds=7',
      '--large-rounds',
      '4',
      '--chunk',
      '64KiB',
      '--memory-size',
      '0',
      '--driver-fsync',
      'off',
      '--baseline-fsync=on',
      '--strict',
    );
    assert.deepEqual(all, {
      driver: 'inmemory',
      jsonFile: 'out.json',
      largeSize: 64 * MiB,
      quick: true,
      only: ['PutGet1MiB', 'Stream256MiB'],
      rounds: 7,
      largeRounds: 4,
      chunkSize: 64 * KiB,
      memorySize: 0,
      driverFsync: false,
      baselineFsync: true,
      strict: true,
      help: false,
    });
    assert.equal(parse('--driver', 'filesystem', '--json', '-').jsonFile, '-');
  });

  it('allows --help without a driver', () => {
    assert.equal(parse('--help').help, true);
    assert.equal(parse('-h').help, true);
  });

  it('rejects usage mistakes with a message that says what is wrong', () => {
    assert.throws(() => parse(), usageError(/--driver is required/));
    assert.throws(() => parse('--driver', 's3'), usageError(/unknown driver "s3"/));
    assert.throws(() => parse('--driver', 'filesystem', '--json'), usageError(/--json needs a value/));
    assert.throws(() => parse('--driver', 'filesystem', '--json', '--quick'), usageError(/--json needs a value/));
    assert.throws(() => parse('--driver', 'filesystem', '--json='), usageError(/--json needs a value/));
    assert.throws(() => parse('--driver', 'filesystem', '--fast'), usageError(/unknown option --fast/));
    assert.throws(() => parse('--driver', 'filesystem', 'extra'), usageError(/unexpected argument "extra"/));
    assert.throws(() => parse('--driver', 'filesystem', '--driver', 'inmemory'), usageError(/given twice/));
    assert.throws(() => parse('--driver', 'filesystem', '--large', '0'), usageError(/--large must be more than 0/));
    assert.throws(() => parse('--driver', 'filesystem', '--large', 'big'), usageError(/--large: not a size/));
    assert.throws(() => parse('--driver', 'filesystem', '--rounds', '0'), usageError(/--rounds must be a positive integer/));
    assert.throws(() => parse('--driver', 'filesystem', '--rounds', '2.5'), usageError(/--rounds/));
    assert.throws(() => parse('--driver', 'filesystem', '--large-rounds', '-1'), usageError(/--large-rounds must be a positive integer/));
    assert.throws(() => parse('--driver', 'filesystem', '--only', ' , '), usageError(/--only needs at least one name/));
    assert.throws(() => parse('--driver', 'filesystem', '--quick=yes'), usageError(/--quick takes no value/));
    assert.throws(() => parse('--driver', 'filesystem', '--driver-fsync', 'yes'), usageError(/--driver-fsync must be on or off, got "yes"/));
  });

  it('has a usage text naming every option and driver', () => {
    const usage = bench.benchUsage(drivers);
    for (const option of [
      '--driver',
      '--json',
      '--large',
      '--quick',
      '--only',
      '--rounds',
      '--large-rounds',
      '--chunk',
      '--memory-size',
      '--driver-fsync',
      '--baseline-fsync',
      '--strict',
    ]) {
      assert.ok(usage.includes(option), option);
    }
    assert.ok(usage.includes('filesystem | inmemory'));
  });
});
