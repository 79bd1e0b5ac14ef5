#!/usr/bin/env node
'use strict';
/**
 * `npm run bench -- --driver NAME (one of scripts/bench/*.js) [--json FILE] [--large SIZE] [--quick] [--only NAMES]`
 * `npm run bench -- --driver filesystem|inmemory --peers [--rounds N] [...]`: the same workloads through
 * OpenDAL and flystorage too, one process per library and round (scripts/bench-peers/run.js).
 *
 * Runs @stowage/conformance's benchmarks on one driver next to its raw baseline (Node fs in a
 * sibling temp directory for filesystem, Buffer copies for inmemory), prints the table and the
 * JSON, and exits 1 on an error (2 on a usage mistake; 3 with --strict when a target or the
 * memory check fails). Runs after `tsc -b` (the npm script builds first).
 */
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const bench = require('@stowage/conformance/bench');
const peers = require('./bench-peers/lib.js');

/** A GC the memory check can run before taking its RSS baseline, without asking for --expose-gc. */
function exposeGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc');
  } catch {
    return undefined;
  }
}

/**
 * Each driver's setup lives in scripts/bench/<driver>.js and exports
 * `setUp(cli) -> { driver, baseline, contentInProcess, describe, tearDown(), targets?, memoryLimit? }`,
 * plus `options`,
 * the driver-specific CLI flags it accepts.
 */
const DRIVERS = fs
  .readdirSync(path.join(__dirname, 'bench'))
  .filter((f) => f.endsWith('.js') && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

function setUp(cli) {
  return require(`./bench/${cli.driver}.js`).setUp(cli);
}

async function main(argv) {
  let cli;
  let peersSettings;
  try {
    cli = bench.parseBenchArgs(argv, DRIVERS);
    if (cli.peers && !cli.help) peersSettings = peers.peersSettings(cli);
    const accepted = (!cli.help && require(`./bench/${cli.driver}.js`).options) || [];
    if ((cli.driverFsync !== undefined && !accepted.includes('driverFsync')) || (cli.baselineFsync !== undefined && !accepted.includes('baselineFsync'))) {
      throw new bench.BenchUsageError('--driver-fsync and --baseline-fsync apply to --driver filesystem only');
    }
  } catch (err) {
    if (!(err instanceof bench.BenchUsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${bench.benchUsage(DRIVERS)}\n`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(`${bench.benchUsage(DRIVERS)}\n`);
    return 0;
  }
  if (peersSettings) return require('./bench-peers/run.js').runPeers(cli, peersSettings);

  const jsonToStdout = cli.jsonFile === '-';
  const started = Date.now();
  const setup = await setUp(cli);
  process.stderr.write(`[bench] ${cli.driver}: ${setup.describe}\n`);
  let result;
  try {
    result = await bench.runBenchmarks(setup.driver, {
      baseline: setup.baseline,
      quick: cli.quick,
      largeSize: cli.largeSize,
      chunkSize: cli.chunkSize,
      rounds: cli.rounds,
      largeRounds: cli.largeRounds,
      only: cli.only,
      memory:
        cli.memorySize === 0
          ? false
          : { size: cli.memorySize, contentInProcess: setup.contentInProcess, ...(setup.memoryLimit ? { limitBytes: setup.memoryLimit } : {}) },
      ...(setup.targets ? { targets: setup.targets } : {}),
      jsonFile: jsonToStdout ? undefined : cli.jsonFile,
      // With `--json -` stdout carries the JSON alone.
      output: jsonToStdout ? process.stderr : process.stdout,
      gc: exposeGc(),
    });
  } finally {
    // A cleanup failure is reported but must not hide the error that got us here.
    await setup.tearDown().catch((err) => process.stderr.write(`bench: cleanup failed: ${err}\n`));
  }

  const json = JSON.stringify(result, null, 2);
  if (jsonToStdout) process.stdout.write(`${json}\n`);
  else if (cli.jsonFile) process.stderr.write(`[bench] JSON written to ${cli.jsonFile}\n`);
  else process.stdout.write(`\nJSON:\n${json}\n`);

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const summary = `bench ${cli.driver}: ${bench.formatTargets(result.targets)}; memory ${result.memory ? (result.memory.pass ? 'PASS' : 'FAIL') : 'not run'}; ${seconds} s`;
  // The summary goes last, on stderr when stdout is reserved for the JSON.
  (jsonToStdout ? process.stderr : process.stdout).write(`\n${summary}\n`);
  return cli.strict && !result.passed ? 3 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // runBenchmarks rejects bad options (e.g. an --only name that matches nothing) before any work.
    if ((err instanceof RangeError || err instanceof TypeError) && /^runBenchmarks: /.test(err.message)) {
      process.stderr.write(`bench: ${err.message.replace(/^runBenchmarks: /, '')}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`bench: failed: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
