import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runBenchmarks } from '@stowage/conformance';
import { InMemoryDriver } from '@stowage/inmemory';
import * as bench from '@stowage/conformance/bench';
import { MiB } from '@stowage/core';

describe('bench: runBenchmarks (tiny run on the in-memory driver)', function () {
  this.timeout(60_000);
  let dir = '';
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stowage-bench-run-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('measures both sides, prints the table, writes the JSON and leaves nothing behind', async () => {
    const driver = new InMemoryDriver();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const jsonFile = path.join(dir, 'result.json');
    const logged: string[] = [];

    const result = await runBenchmarks(driver, {
      baseline: bench.bufferBaseline(),
      only: ['PutGet1KiB', 'stream1mib', 'List5', 'BenchmarkDelete5Files', 'Memory'],
      rounds: 3,
      minBatchMs: 5,
      largeSize: 2 * MiB,
      memory: { size: 8 * MiB, contentInProcess: true },
      targets: [
        { benchmark: 'PutGet1KiB', minRatio: 0 },
        { benchmark: 'PutGet1MiB', minRatio: 0.9 },
      ],
      jsonFile,
      output,
      log: (line) => logged.push(line),
      seed: 42,
    });

    assert.deepEqual(
      result.benchmarks.map((e) => e.name),
      ['PutGet1KiB', 'Stream1MiB', 'List5', 'Delete5'],
    );
    for (const entry of result.benchmarks) {
      assert.equal(entry.driver.samples.length, 3, entry.name);
      assert.equal(entry.baseline.samples.length, 3, entry.name);
      assert.ok(entry.opsPerBatch >= 1);
      assert.ok(entry.driver.opsPerSec > 0 && entry.baseline.opsPerSec > 0, entry.name);
      assert.equal(entry.ratio, bench.median(entry.ratioSamples));
      entry.ratioSamples.forEach((r, i) => assert.equal(r, entry.driver.samples[i]! / entry.baseline.samples[i]!));
    }
    assert.equal(result.benchmarks[0]!.distribution, 'BenchmarkPutGet1KBFiles');
    assert.equal(result.benchmarks[1]!.bytesPerOp, MiB);
    assert.equal(result.benchmarks[2]!.driver.mbPerSec, null);

    assert.ok(result.memory, 'the memory check ran');
    assert.equal(result.memory.size, 8 * MiB);
    assert.equal(result.memory.contentInProcess, true);
    assert.ok(result.memory.driver.write.samples > 0);

    assert.deepEqual(
      result.targets.map((t) => [t.benchmark, t.pass]),
      [
        ['PutGet1KiB', true],
        ['PutGet1MiB', null],
      ],
    );
    assert.equal(result.settings.seed, 42);
    assert.equal(result.baseline, 'buffer-copies');
    assert.equal(result.driver, driver.name);

    assert.match(printed, /PutGet1KiB/);
    assert.match(printed, /Targets \(driver\/baseline >= 0\.00\/0\.90\): PutGet1KiB [\d.]+ PASS, PutGet1MiB not run/);
    assert.ok(logged.some((l) => l.startsWith('Delete5:')));
    assert.deepEqual(JSON.parse(await fs.readFile(jsonFile, 'utf8')), JSON.parse(JSON.stringify(result)));

    assert.deepEqual(await driver.list('/'), [], 'nothing left in the driver');
  });

  it('rejects an unknown benchmark name before doing any work', async () => {
    const driver = new InMemoryDriver();
    await assert.rejects(
      runBenchmarks(driver, { baseline: bench.bufferBaseline(), only: ['PutGet1KiB', 'NoSuchThing'], output: null, log: null }),
      (err: unknown) => err instanceof RangeError && /NoSuchThing/.test(err.message) && /PutGet1MiB/.test(err.message),
    );
    assert.deepEqual(await driver.list('/'), []);
  });

  it('rejects a baseline that lacks operations, naming them', async () => {
    const partial = { name: 'half', put: async () => undefined, get: async () => new Uint8Array() } as never;
    await assert.rejects(
      runBenchmarks(new InMemoryDriver(), { baseline: partial, output: null, log: null }),
      /baseline half lacks streamWrite, streamRead, list, delete/,
    );
  });

  it('cleans up and rethrows when the driver fails mid-run', async () => {
    class FailingDriver extends InMemoryDriver {
      private calls = 0;
      override async getContent(p: string): Promise<Buffer> {
        if (++this.calls === 3) throw new Error('disk on fire');
        return super.getContent(p);
      }
    }
    const driver = new FailingDriver();
    await assert.rejects(
      runBenchmarks(driver, { baseline: bench.bufferBaseline(), only: ['PutGet1KiB'], rounds: 1, minBatchMs: 1, memory: false, output: null, log: null }),
      /disk on fire/,
    );
    assert.deepEqual(await driver.list('/'), [], 'the run removed its prefix');
  });
});

describe('bench: RssSampler', () => {
  it('sees RSS grow when memory is touched', () => {
    const sampler = new bench.RssSampler(1000);
    const block = Buffer.alloc(48 * MiB, 1);
    sampler.sample();
    const { growth, samples } = sampler.stop();
    assert.ok(block.length > 0);
    assert.ok(growth >= 40 * MiB, `growth ${growth}`);
    assert.ok(samples >= 2);
  });
});
