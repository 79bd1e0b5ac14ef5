/**
 * `npm run bench -- --peers` (scripts/bench-peers/): its pure parts, runBenchmarkRound, and a
 * --quick run of one round per driver through the real peer packages (installed on first use into
 * scripts/bench-peers; a handful of small workloads: about 15 s per driver, plus ~10 s for the
 * first install).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as bench from '@stowage/conformance/bench';
import { MiB } from '@stowage/core';
import { InMemoryDriver } from '@stowage/inmemory';

// Compiled to build/test/unit/bench; the scripts stay in the source tree.
const SCRIPTS = path.resolve(__dirname, '../../../../scripts');
const lib = require(path.join(SCRIPTS, 'bench-peers/lib.js'));

const LIBRARY_IDS = ['stowage', 'node', 'opendal', 'flystorage'];

function cli(...argv: string[]) {
  return bench.parseBenchArgs(argv, ['filesystem', 'inmemory', 's3']);
}

/** A runBenchmarkRound-shaped result with the given ops/s per workload. */
function roundResult(opsPerSec: Record<string, number>, bytesPerOp: Record<string, number> = {}) {
  return {
    target: 't',
    benchmarks: Object.entries(opsPerSec).map(([name, ops]) => ({ name, bytesPerOp: bytesPerOp[name] ?? 0, opsPerBatch: 1, opsPerSec: ops, mbPerSec: null })),
  };
}

describe('bench: peers (pure parts)', () => {
  const usageError = (fragment: RegExp) => (err: unknown) => err instanceof bench.BenchUsageError && fragment.test((err as Error).message);

  it('parses --peers, which takes no value', () => {
    assert.equal(cli('--driver', 'inmemory', '--peers').peers, true);
    assert.equal(cli('--driver', 'inmemory').peers, undefined);
    assert.throws(() => cli('--driver', 'inmemory', '--peers=yes'), usageError(/--peers takes no value/));
    assert.ok(bench.benchUsage(['filesystem']).includes('--peers'));
  });

  it('turns the command line into settings: 3 rounds, the quick large size, every workload in catalog order', () => {
    const settings = lib.peersSettings(cli('--driver', 'filesystem', '--peers', '--quick', '--driver-fsync', 'off'));
    assert.equal(settings.driver, 'filesystem');
    assert.equal(settings.rounds, 3);
    assert.equal(settings.largeSize, 64 * MiB);
    assert.equal(settings.chunkSize, MiB);
    assert.equal(settings.driverFsync, false);
    assert.deepEqual(
      settings.names,
      bench.benchmarkCatalog(64 * MiB).map((c) => c.name),
    );
    const custom = lib.peersSettings(cli('--driver', 'inmemory', '--peers', '--rounds', '5', '--large', '2MiB', '--chunk', '64KiB'));
    assert.deepEqual([custom.rounds, custom.largeSize, custom.chunkSize, custom.quick], [5, 2 * MiB, 64 * 1024, false]);
    assert.equal(lib.peersSettings(cli('--driver', 'inmemory', '--peers')).largeSize, 1024 * MiB);
  });

  it('refuses what does not apply to --peers', () => {
    assert.throws(() => lib.peersSettings(cli('--driver', 's3', '--peers')), usageError(/--peers applies to --driver filesystem or inmemory, not s3/));
    assert.throws(() => lib.peersSettings(cli('--driver', 'inmemory', '--peers', '--large-rounds', '2')), usageError(/--large-rounds does not apply/));
    assert.throws(
      () => lib.peersSettings(cli('--driver', 'inmemory', '--peers', '--memory-size', '0', '--strict')),
      usageError(/--memory-size, --strict do not apply/),
    );
  });

  it('selects workloads by name, distribution name or wildcard, in catalog order; unknown names and the memory check are refused', () => {
    const catalog = bench.benchmarkCatalog(64 * MiB);
    assert.deepEqual(lib.selectNames(catalog, ['stream1mib', 'PutGetEmptyFiles', 'List*']), ['PutGetEmpty', 'Stream1MiB', 'List5', 'List50']);
    assert.deepEqual(lib.selectNames(catalog, undefined).length, catalog.length);
    assert.throws(() => lib.selectNames(catalog, ['PutGet1KiB', 'Nope']), usageError(/no workload matches Nope; names: PutGetEmpty/));
    assert.throws(() => lib.selectNames(catalog, ['Memory']), usageError(/the memory check is not part of --peers/));
  });

  it('interleaves the rounds, each starting one library later', () => {
    assert.deepEqual(
      lib.interleave(3, ['a', 'b', 'c']).map((r: { round: number; library: string }) => `${r.round}${r.library}`),
      ['1a', '1b', '1c', '2b', '2c', '2a', '3c', '3a', '3b'],
    );
    assert.deepEqual(lib.interleave(1, LIBRARY_IDS), [
      { round: 1, library: 'stowage' },
      { round: 1, library: 'node' },
      { round: 1, library: 'opendal' },
      { round: 1, library: 'flystorage' },
    ]);
  });

  it('takes medians per cell and compares Stowage with the faster peer and raw Node', () => {
    const runs = [
      // ops/s of PutGetEmpty (µs/op) and PutGet1MiB (MB/s), three rounds each
      ...[
        [100, 10],
        [300, 30],
        [200, 20],
      ].map(([a, b], i) => ({ round: i + 1, library: 'stowage', result: roundResult({ PutGetEmpty: a!, PutGet1MiB: b! }, { PutGet1MiB: MiB }) })),
      ...[400, 400, 400].map((a, i) => ({ round: i + 1, library: 'node', result: roundResult({ PutGetEmpty: a, PutGet1MiB: 40 }, { PutGet1MiB: MiB }) })),
      ...[50, 150, 100].map((a, i) => ({ round: i + 1, library: 'opendal', result: roundResult({ PutGetEmpty: a, PutGet1MiB: 5 }, { PutGet1MiB: MiB }) })),
      // flystorage has no PutGet1MiB figure: n/a, and the faster peer there is OpenDAL
      ...[80, 80, 80].map((a, i) => ({ round: i + 1, library: 'flystorage', result: roundResult({ PutGetEmpty: a }) })),
    ];
    const [empty, oneMiB] = lib.summarise(runs, LIBRARY_IDS, ['PutGetEmpty', 'PutGet1MiB']);
    assert.equal(empty.unit, 'µs/op');
    assert.equal(empty.results.stowage.opsPerSec, 200);
    assert.equal(empty.results.stowage.usPerOp, 5000);
    assert.deepEqual(
      empty.results.stowage.rounds.map((r: { round: number; opsPerSec: number }) => [r.round, r.opsPerSec]),
      [
        [1, 100],
        [2, 300],
        [3, 200],
      ],
    );
    assert.equal(empty.bestPeer, 'opendal');
    assert.equal(empty.ratioToBestPeer, 2);
    assert.equal(empty.ratioToNode, 0.5);

    assert.equal(oneMiB.unit, 'MB/s');
    assert.equal(oneMiB.results.flystorage, null);
    assert.equal(oneMiB.results.stowage.mbPerSec, (20 * MiB) / 1e6);
    assert.equal(oneMiB.bestPeer, 'opendal');
    assert.equal(oneMiB.ratioToBestPeer, 4);

    const libraries = [
      { id: 'stowage', label: 'Stowage' },
      { id: 'node', label: 'raw Node' },
      { id: 'opendal', label: 'OpenDAL 0.49.2' },
      { id: 'flystorage', label: 'flystorage 1.2.2' },
    ];
    const lines = lib.formatPeersTable([empty, oneMiB], libraries).split('\n');
    assert.deepEqual(lines[0].split(/\s{2,}/), [
      'workload',
      'unit',
      'Stowage',
      'raw Node',
      'OpenDAL 0.49.2',
      'flystorage 1.2.2',
      'Stowage/best peer',
      'Stowage/raw Node',
    ]);
    assert.match(lines[1], /^-+$/);
    assert.deepEqual(lines[2].split(/\s{2,}/), ['PutGetEmpty', 'µs/op', '5,000', '2,500', '10,000', '12,500', '2.00 (OpenDAL)', '0.50']);
    assert.deepEqual(lines[3].split(/\s{2,}/), ['PutGet1MiB', 'MB/s', '21.0', '41.9', '5.2', 'n/a', '4.00 (OpenDAL)', '0.50']);
  });
});

describe('bench: runBenchmarkRound', function () {
  this.timeout(60_000);

  it('runs each chosen workload once on one target, in catalog order, and leaves nothing behind', async () => {
    const driver = new InMemoryDriver();
    const logged: string[] = [];
    const result = await bench.runBenchmarkRound(bench.driverAsBaseline(driver), {
      names: ['List5', 'PutGet1KiB', 'Stream2MiB'],
      largeSize: 2 * MiB,
      minBatchMs: 5,
      seed: 7,
      log: (line) => logged.push(line),
    });
    assert.deepEqual(
      result.benchmarks.map((b) => b.name),
      ['PutGet1KiB', 'Stream2MiB', 'List5'],
    );
    for (const entry of result.benchmarks) {
      assert.ok(entry.opsPerSec > 0 && entry.opsPerBatch >= 1, entry.name);
      assert.equal(entry.mbPerSec, entry.bytesPerOp > 0 ? (entry.opsPerSec * entry.bytesPerOp) / 1e6 : null);
    }
    assert.equal(result.benchmarks[0]!.distribution, 'BenchmarkPutGet1KBFiles');
    assert.deepEqual(result.settings, { largeSize: 2 * MiB, chunkSize: MiB, minBatchMs: 5, quick: false, seed: 7 });
    assert.equal(logged.length, 3);
    assert.deepEqual(await driver.list('/'), []);
  });

  it('times at least one op when preparing even one batch takes longer than the preparation allowance', async () => {
    // Delete5 prepares 5 files per op; at minBatchMs 10 the allowance is 40 ms, and 5 puts of 20 ms exceed it.
    const target = bench.driverAsBaseline(new InMemoryDriver());
    const slowPut = target.put.bind(target);
    target.put = async (key, content) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await slowPut(key, content);
    };
    const result = await bench.runBenchmarkRound(target, { names: ['Delete5'], minBatchMs: 10, log: null });
    const entry = result.benchmarks[0]!;
    assert.ok(entry.opsPerBatch >= 1, `opsPerBatch ${entry.opsPerBatch}`);
    assert.ok(entry.opsPerSec > 0 && Number.isFinite(entry.opsPerSec), `opsPerSec ${entry.opsPerSec}`);
  });

  it('refuses a name that is not a workload before any work', async () => {
    const driver = new InMemoryDriver();
    await assert.rejects(
      bench.runBenchmarkRound(bench.driverAsBaseline(driver), { names: ['PutGet1KiB', 'putget1kib'], log: null }),
      /no benchmark is named putget1kib/,
    );
  });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBench(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(SCRIPTS, 'bench.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench: --peers end to end (one --quick round through the real peer packages)', function () {
  this.timeout(600_000);
  let dir = '';
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stowage-bench-peers-test-'));
  });
  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('exits 2 on a usage mistake, before installing anything', async () => {
    const { code, stderr } = await runBench(['--driver', 's3', '--peers']);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--peers applies to --driver filesystem or inmemory, not s3/);
    assert.match(stderr, /usage: npm run bench/);
  });

  // A few workloads of each kind: small put/get and stream (batched), a large one (one op), list, delete.
  const ONLY = 'PutGetEmpty,PutGet1MiB,Stream1MiB,Stream64MiB,List5,Delete5';
  for (const driver of ['inmemory', 'filesystem']) {
    it(`${driver}: every library has a figure for every workload; table and JSON`, async function () {
      const jsonFile = path.join(dir, `${driver}.json`);
      const started = Date.now();
      const { code, stdout, stderr } = await runBench(['--driver', driver, '--peers', '--quick', '--rounds', '1', '--only', ONLY, '--json', jsonFile]);
      if (code === 4 && process.env.STOWAGE_REQUIRE_SERVICES !== '1') {
        console.log(`      skipped: ${stderr.trim().split('\n').pop()}`);
        this.skip();
      }
      assert.equal(code, 0, `${stdout}\n${stderr}`);
      console.log(`      (${((Date.now() - started) / 1000).toFixed(1)} s)`);

      const report = JSON.parse(await fs.readFile(jsonFile, 'utf8'));
      const names = ['PutGetEmpty', 'PutGet1MiB', 'Stream1MiB', 'Stream64MiB', 'List5', 'Delete5'];
      assert.equal(report.driver, driver);
      assert.equal(report.settings.rounds, 1);
      assert.equal(report.settings.largeSize, 64 * MiB);
      assert.deepEqual(
        report.libraries.map((l: { id: string }) => l.id),
        LIBRARY_IDS,
      );
      assert.match(report.libraries[2].label, /^OpenDAL 0\.49\.\d+$/);
      assert.match(report.libraries[3].label, /^flystorage \d+\.\d+\.\d+$/);
      assert.deepEqual(
        report.runs.map((r: { library: string }) => r.library),
        LIBRARY_IDS,
      );
      assert.deepEqual(
        report.benchmarks.map((b: { name: string }) => b.name),
        names,
      );
      for (const entry of report.benchmarks) {
        for (const id of LIBRARY_IDS) {
          const cell = entry.results[id];
          assert.ok(cell, `${id} has a figure for ${entry.name}`);
          assert.equal(cell.rounds.length, 1);
          assert.ok(cell.opsPerSec > 0 && cell.usPerOp > 0, `${id} ${entry.name}`);
        }
        assert.equal(entry.unit, entry.bytesPerOp >= MiB ? 'MB/s' : 'µs/op');
        assert.ok(['opendal', 'flystorage'].includes(entry.bestPeer));
        assert.equal(entry.ratioToBestPeer, entry.results.stowage.opsPerSec / entry.results[entry.bestPeer].opsPerSec);
        assert.equal(entry.ratioToNode, entry.results.stowage.opsPerSec / entry.results.node.opsPerSec);
      }

      const lines = stdout.split('\n');
      assert.match(
        lines.find((l) => l.startsWith('workload')) ?? '',
        /^workload\s+unit\s+Stowage\s+raw Node\s+OpenDAL 0\.49\.\d+\s+flystorage \S+\s+Stowage\/best peer\s+Stowage\/raw Node$/,
      );
      for (const name of names)
        assert.match(stdout, new RegExp(`^${name}\\s+(µs/op|MB/s)(\\s+[\\d,.]+){4}\\s+[\\d.]+ \\((OpenDAL|flystorage)\\)\\s+[\\d.]+$`, 'm'));
      assert.match(stdout, /^Note: /m);
      // Every library's temp directory was removed: nothing of this run is left in the temp dir.
      const left = (await fs.readdir(os.tmpdir())).filter((f) => f.startsWith('stowage-bench-peers-') && !f.startsWith('stowage-bench-peers-test-'));
      assert.deepEqual(left, []);
    });
  }
});
