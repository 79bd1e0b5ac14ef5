'use strict';
/**
 * `npm run bench -- --driver filesystem|inmemory --peers`: the bench's workloads through Stowage,
 * raw Node, OpenDAL and flystorage, each library in a process of its own (worker.js, forked once
 * per library and round), rounds interleaved; prints the table of medians with the ratios, and
 * the JSON with every round's figures.
 */
const { fork } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const lib = require('./lib.js');
const { SETUPS, peerVersion } = require('./libraries.js');
const { ensurePeersInstalled, PeersUnavailableError } = require('./install.js');

/** Exit code when the peer libraries cannot be installed or loaded here. */
const EXIT_PEERS_UNAVAILABLE = 4;

/** What the table's notes say about the mapping of the workloads onto each peer. */
const NOTES = [
  "every library runs @stowage/conformance's workloads (distribution's BenchDriver list plus the 256 MiB stream) through the same harness; " +
    'Stream* = stream write of 1 MiB chunks, then a stream read drained to the end; StreamWrite/StreamRead time each half apart',
  "a stream write is Stowage's writer + commit(), OpenDAL's writer + close(), flystorage's write(path, Readable) (no separate commit step); " +
    'no workload appends to or resumes an upload, so none is left out',
  'Delete removes a directory tree: Stowage delete(), raw Node rm -r, OpenDAL removeAll(), flystorage deleteDirectory() after a fileExists() check',
];

/** Runs one library's round in a new process; resolves with what the worker sent back. */
function runWorker(task, output) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'worker.js'), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    // Whatever a library prints must not get into the JSON when it goes to stdout.
    child.stdout?.pipe(output === process.stdout ? process.stderr : output, { end: false });
    let reply;
    child.on('message', (message) => (reply = message));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (reply?.ok) resolve(reply);
      else if (reply) reject(new Error(`${task.library}, round ${task.round}: ${reply.error}`));
      else reject(new Error(`${task.library}, round ${task.round}: the worker exited (${signal ?? `code ${code}`}) without a result`));
    });
    child.send(task);
  });
}

/** The run; `cli` as parsed by parseBenchArgs with `peers` set. Returns the exit code. */
async function runPeers(cli, settings) {
  const jsonToStdout = cli.jsonFile === '-';
  const output = jsonToStdout ? process.stderr : process.stdout;
  const log = (line) => process.stderr.write(`[bench] ${line}\n`);
  try {
    await ensurePeersInstalled(log);
  } catch (err) {
    if (!(err instanceof PeersUnavailableError)) throw err;
    process.stderr.write(`bench: the peer libraries cannot run here: ${err.message}\n`);
    return EXIT_PEERS_UNAVAILABLE;
  }

  const started = Date.now();
  const seed = randomBytes(4).readUInt32LE(0);
  const ids = lib.LIBRARIES.map((l) => l.id);
  const schedule = lib.interleave(settings.rounds, ids);
  const runs = [];
  const described = {};
  for (const { round, library } of schedule) {
    log(`round ${round}/${settings.rounds}: ${library} ...`);
    const reply = await runWorker(
      {
        round,
        library,
        driver: settings.driver,
        names: settings.names,
        largeSize: settings.largeSize,
        chunkSize: settings.chunkSize,
        quick: settings.quick,
        seed,
        driverFsync: settings.driverFsync,
        baselineFsync: settings.baselineFsync,
      },
      output,
    );
    described[library] = { name: reply.name, describe: reply.describe };
    runs.push({ round, library, durationMs: reply.result.durationMs, result: reply.result });
  }

  const libraries = lib.LIBRARIES.map((l) => {
    const packages = SETUPS[l.id].packages;
    const version = packages.length > 0 ? peerVersion(packages[0]) : undefined;
    return {
      id: l.id,
      label: version ? `${l.label} ${version}` : l.label,
      ...(packages.length > 0 ? { packages: Object.fromEntries(packages.map((p) => [p, peerVersion(p) ?? null])) } : {}),
      name: described[l.id].name,
      describe: described[l.id].describe,
    };
  });
  const report = {
    driver: settings.driver,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    environment: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: os.cpus().length,
      totalMemory: os.totalmem(),
      loadAverage: os.loadavg(),
    },
    settings: {
      rounds: settings.rounds,
      largeSize: settings.largeSize,
      chunkSize: settings.chunkSize,
      quick: settings.quick,
      seed,
      ...(settings.driverFsync === undefined ? {} : { driverFsync: settings.driverFsync }),
      ...(settings.baselineFsync === undefined ? {} : { baselineFsync: settings.baselineFsync }),
    },
    libraries,
    benchmarks: lib.summarise(runs, ids, settings.names),
    // The order the processes ran in; every round's figures are in benchmarks[].results[library].rounds.
    runs: runs.map(({ round, library, durationMs }) => ({ round, library, durationMs })),
    notes: NOTES,
  };

  output.write(`${lib.formatPeersReport(report)}\n`);
  const json = JSON.stringify(report, null, 2);
  if (jsonToStdout) process.stdout.write(`${json}\n`);
  else if (cli.jsonFile) {
    await fs.promises.writeFile(cli.jsonFile, `${json}\n`);
    log(`JSON written to ${cli.jsonFile}`);
  } else process.stdout.write(`\nJSON:\n${json}\n`);
  output.write(
    `\nbench ${settings.driver} --peers: ${settings.rounds} round${settings.rounds === 1 ? '' : 's'} x ${ids.length} libraries, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return 0;
}

module.exports = { runPeers };
