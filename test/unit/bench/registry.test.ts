/**
 * `npm run bench:registry` (scripts/bench-registry.js): its pure parts, and a --quick run on the
 * filesystem so that the script cannot rot (a 2 MiB image, one round: a few seconds).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDockerRegistry } from '../../services/docker-registry';
import { ensureSkopeo } from '../../services/docker-registry/skopeo';
import { requireService } from '../../services/require-service';

// Compiled to build/test/unit/bench; the script stays in the source tree.
const SCRIPTS = path.resolve(__dirname, '../../../../scripts');
const lib = require(path.join(SCRIPTS, 'bench-registry/lib.js'));

const MiB = 1024 * 1024;

/** A /proc/PID/stat line as Linux writes it: pid (comm) state ppid ... utime(14) stime(15) ... */
function statLine(comm: string, utime: number, stime: number): string {
  const after = ['S', '1', '10', '10', '0', '-1', '4194560', '1200', '0', '3', '0', String(utime), String(stime), '7', '9', '20', '0', '11', '0', '12345'];
  return `4242 (${comm}) ${after.join(' ')}\n`;
}

describe('bench: registry benchmark (pure parts)', () => {
  it('parses utime and stime from /proc/PID/stat, whatever the command name holds', () => {
    assert.deepEqual(lib.parseProcStat(statLine('node', 250, 40)), { utimeTicks: 250, stimeTicks: 40, ticks: 290 });
    // A name with spaces and parentheses must not shift the fields.
    assert.deepEqual(lib.parseProcStat(statLine('a) b (c', 7, 3)), { utimeTicks: 7, stimeTicks: 3, ticks: 10 });
    assert.deepEqual(lib.parseProcStat(statLine('docker-registry', 0, 0)).ticks, 0);
    assert.throws(() => lib.parseProcStat('garbage'), /not a \/proc\/PID\/stat line/);
    assert.throws(() => lib.parseProcStat('1 (x) S 1'), /no utime\/stime/);
  });

  it('reads this very process from /proc', async function () {
    const text = await fs.readFile(`/proc/${process.pid}/stat`, 'utf8').catch(() => undefined);
    if (text === undefined) {
      console.log('      skipped: no /proc here');
      this.skip();
    }
    const first = lib.parseProcStat(text).ticks;
    const until = Date.now() + 60; // burn a few clock ticks of CPU
    while (Date.now() < until);
    const second = lib.parseProcStat(await fs.readFile(`/proc/${process.pid}/stat`, 'utf8')).ticks;
    assert.ok(second > first, `${second} > ${first}`);
  });

  it('splits the image into layers that sum to the size', () => {
    assert.deepEqual(lib.layerSizes(10, 3), [4, 3, 3]);
    assert.deepEqual(lib.layerSizes(200 * MiB, 8), Array(8).fill(25 * MiB));
    const sizes: number[] = lib.layerSizes(200 * MiB + 5, 7);
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      200 * MiB + 5,
    );
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  });

  it('parses the command line, --quick giving way to explicit flags', () => {
    const defaults = lib.parseArgs([]);
    assert.deepEqual(defaults.backends, ['filesystem', 's3', 'swift']);
    assert.equal(defaults.rounds, 5);
    assert.equal(defaults.warmup, 1);
    assert.equal(defaults.imageSize, 200 * MiB);
    assert.equal(defaults.layers, 8);
    const given = lib.parseArgs([
      '--backends',
      'swift,filesystem',
      '--rounds=7',
      '--warmup',
      '0',
      '--image-size',
      '64MiB',
      '--layers',
      '5',
      '--json',
      'out.json',
      '--cpu-prof',
      'prof',
      '--registry-cli',
      'old/dist/cli.js',
    ]);
    assert.deepEqual(given.backends, ['swift', 'filesystem']);
    assert.deepEqual(
      [given.rounds, given.warmup, given.imageSize, given.layers, given.jsonFile, given.cpuProfDir, given.registryCli],
      [7, 0, 64 * MiB, 5, 'out.json', 'prof', 'old/dist/cli.js'],
    );
    const quick = lib.parseArgs(['--quick']);
    assert.deepEqual([quick.rounds, quick.warmup, quick.imageSize, quick.layers], [1, 0, 2 * MiB, 2]);
    assert.equal(lib.parseArgs(['--quick', '--rounds', '3']).rounds, 3);
    for (const bad of [
      ['--backends', 'gcs'],
      ['--rounds', '0'],
      ['--rounds'],
      ['--layers', 'x'],
      ['--image-size', 'lots'],
      ['--frobnicate'],
      ['--layers', '10', '--image-size', '5'],
    ]) {
      assert.throws(
        () => lib.parseArgs(bad),
        (err: Error) => err.name === 'UsageError',
        bad.join(' '),
      );
    }
  });

  it('summarises both sides: MB/s and CPU as median, min, max; ratios as the median of per-round ratios', () => {
    const bytes = 100e6;
    // stowage: 1 s, 2 s, 4 s -> 100, 50, 25 MB/s; docker-registry: 2 s every round -> 50 MB/s.
    const entry = lib.summariseOperation(
      'filesystem',
      'push',
      bytes,
      { seconds: [1, 2, 4], cpuSeconds: [0.5, 0.3, 0.4] },
      { seconds: [2, 2, 2], cpuSeconds: [0.4, 0.6, 0.2] },
    );
    assert.deepEqual(entry.stowage.mbPerSec, { median: 50, min: 25, max: 100, samples: [100, 50, 25] });
    assert.deepEqual(entry.distribution.mbPerSec, { median: 50, min: 50, max: 50, samples: [50, 50, 50] });
    assert.deepEqual(entry.stowage.cpuSeconds, { median: 0.4, min: 0.3, max: 0.5, samples: [0.5, 0.3, 0.4] });
    assert.deepEqual(entry.throughputRatioSamples, [2, 1, 0.5]);
    assert.equal(entry.throughputRatio, 1);
    assert.deepEqual(entry.cpuRatioSamples, [1.25, 0.5, 2]);
    assert.equal(entry.cpuRatio, 1.25);
    assert.deepEqual(entry.pass, { throughput: true, cpu: false });
    assert.equal(lib.overallPass([entry]), false);

    // On the clouds the bounds are 0.9x throughput and 1/0.9x CPU; a side with no measurable CPU has no CPU verdict.
    const cloud = lib.summariseOperation('s3', 'pull', bytes, { seconds: [1.1, 1.1], cpuSeconds: [0.1, 0.1] }, { seconds: [1, 1], cpuSeconds: [0, 0] });
    assert.ok(Math.abs(cloud.throughputRatio - 1 / 1.1) < 1e-12);
    assert.deepEqual(cloud.pass, { throughput: true, cpu: null });
    assert.equal(cloud.cpuRatio, null);
    assert.equal(lib.overallPass([cloud]), true);
  });

  it('prints one aligned line per backend and operation, with verdicts', () => {
    const push = lib.summariseOperation(
      'filesystem',
      'push',
      200e6,
      { seconds: [1, 2, 4], cpuSeconds: [0.5, 0.3, 0.4] },
      { seconds: [2, 2, 2], cpuSeconds: [0.4, 0.6, 0.2] },
    );
    const pull = lib.summariseOperation('swift', 'pull', 200e6, { seconds: [2], cpuSeconds: [0.25] }, { seconds: [2], cpuSeconds: [0.5] });
    const lines: string[] = lib.formatTable([push, pull]).split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^backend\s+op\s+stowage MB\/s\s+docker-registry MB\/s\s+ratio\s+target\s+stowage CPU s\/op/);
    assert.match(lines[1]!, /^-+$/);
    assert.match(
      lines[2]!,
      /^filesystem\s+push\s+100 \(50\.0-200\)\s+100 \(100-100\)\s+1\.00\s+>=1\.00 PASS\s+0\.40 \(0\.30-0\.50\)\s+0\.40 \(0\.20-0\.60\)\s+1\.25\s+<=1\.00 FAIL$/,
    );
    assert.match(
      lines[3]!,
      /^swift\s+pull\s+100 \(100-100\)\s+100 \(100-100\)\s+1\.00\s+>=0\.90 PASS\s+0\.25 \(0\.25-0\.25\)\s+0\.50 \(0\.50-0\.50\)\s+0\.50\s+<=1\.11 PASS$/,
    );
    assert.equal(
      new Set(
        lines
          .slice(0, 1)
          .concat(lines.slice(2))
          .map((l) => l.length),
      ).size,
      1,
      'aligned',
    );
    assert.equal(lib.formatTable([]), '(nothing measured)');
  });
});

describe('bench: registry benchmark (--quick run on the filesystem)', function () {
  this.timeout(120_000);
  let dir = '';
  before(async function () {
    await requireService(this, 'skopeo', ensureSkopeo);
    await requireService(this, 'docker-registry', ensureDockerRegistry);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stowage-bench-registry-test-'));
  });
  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('pushes and pulls through both registries, prints the table and writes the JSON', async () => {
    const jsonFile = path.join(dir, 'result.json');
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(SCRIPTS, 'bench-registry.js'), '--quick', '--backends', 'filesystem', '--json', jsonFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
    });
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /^filesystem\s+push\s+\d/m);
    assert.match(stdout, /^filesystem\s+pull\s+\d/m);
    assert.match(stdout, /Overall: (PASS|FAIL)/);
    const result = JSON.parse(await fs.readFile(jsonFile, 'utf8'));
    assert.deepEqual(result.settings.backends, ['filesystem']);
    assert.deepEqual(
      result.results.map((e: { backend: string; operation: string }) => `${e.backend} ${e.operation}`),
      ['filesystem push', 'filesystem pull'],
    );
    for (const entry of result.results) {
      // Image: 2 MiB of random bytes in two tar+gzip layers, plus the config and the manifest.
      assert.ok(entry.bytes > 2 * MiB && entry.bytes < 2 * MiB + 16384, String(entry.bytes));
      for (const side of [entry.stowage, entry.distribution]) {
        assert.equal(side.mbPerSec.samples.length, 1);
        assert.ok(side.mbPerSec.median > 0);
        assert.ok(side.cpuSeconds.median >= 0);
      }
      assert.ok(entry.throughputRatio > 0);
    }
    // Both servers were stopped and their storage removed: only the JSON is left.
    assert.deepEqual(await fs.readdir(dir), ['result.json']);
  });
});
