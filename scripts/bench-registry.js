#!/usr/bin/env node
'use strict';
/**
 * `npm run bench:registry -- [--backends filesystem,s3,swift] [--rounds 5] [--warmup 1]
 *   [--image-size 200MiB] [--layers 8] [--json FILE] [--cpu-prof DIR] [--registry-cli FILE] [--quick]`
 *
 * Push and pull of a random, incompressible image with skopeo, against this repository's
 * registry (examples/registry, its own process) and against docker-registry 2.8.2, on the same
 * backend. Each round makes a fresh image (so that nothing is already stored or mountable), pushes
 * it to both servers and pulls it back from both (checked byte for byte), the side that goes first
 * alternating from round to round; warm-up rounds are not counted. Per side: MB/s (image bytes /
 * skopeo's wall time) and the server process's CPU seconds (utime + stime from /proc/PID/stat)
 * per push and per pull, as median (min-max), and the ratios stowage/docker-registry (median of the
 * per-round ratios) against issue 13's targets. Prints a table and writes the JSON.
 * Exits 0 when it measured (whatever the figures), 1 on an error, 2 on a usage mistake.
 * Runs after `tsc -b` (the npm script builds first).
 */
const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const lib = require('./bench-registry/lib');
const servers = require('./bench-registry/servers');

const ROOT = path.resolve(__dirname, '..');
const { makeRandomOciImage, readOciImage } = require(path.join(ROOT, 'build/test/services/docker-registry/oci-image'));
const { pushImage, pullImage, ensureSkopeo } = require(path.join(ROOT, 'build/test/services/docker-registry/skopeo'));
const { ensureDockerRegistry } = require(path.join(ROOT, 'build/test/services/docker-registry'));

const REPOSITORY = 'bench/random';

/** Runs `operation` and returns its wall seconds and the CPU seconds `pid` spent meanwhile. */
async function measure(pid, operation) {
  const cpuBefore = servers.cpuSeconds(pid);
  const started = process.hrtime.bigint();
  await operation();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, cpuSeconds: servers.cpuSeconds(pid) - cpuBefore };
}

function sameImage(expected, actual, where) {
  const same =
    expected.manifestDigest === actual.manifestDigest &&
    expected.manifest.equals(actual.manifest) &&
    JSON.stringify(expected.blobs) === JSON.stringify(actual.blobs) &&
    actual.blobs.every((blob) => blob.digest === blob.contentDigest && blob.size === blob.contentSize);
  if (!same) throw new Error(`${where}: the pulled image differs from the pushed one`);
}

/** All rounds on one backend; returns the per-operation summaries. */
async function benchBackend(backend, options, log) {
  const workDir = await servers.tmpRoot();
  const storage = await servers.prepareBackend(backend, workDir);
  log(`[bench:registry] ${backend}: ${storage.describe}`);
  const sides = [];
  try {
    const stowage = await servers.startStowageRegistry(storage.stowage, workDir, options);
    sides.push(stowage);
    const distribution = await servers.startDistribution(storage.distribution);
    sides.push(distribution);
    log(
      `[bench:registry] ${backend}: stowage-registry pid ${stowage.pid} at ${stowage.url}, docker-registry 2.8.2 pid ${distribution.pid} at ${distribution.url}`,
    );
    const sizes = lib.layerSizes(options.imageSize, options.layers);
    const newSamples = () => ({ push: { seconds: [], cpuSeconds: [] }, pull: { seconds: [], cpuSeconds: [] } });
    const stowageRun = { index: 0, label: 'stowage', side: stowage, samples: newSamples() };
    const distributionRun = { index: 1, label: 'distribution', side: distribution, samples: newSamples() };
    const runs = [stowageRun, distributionRun];
    let bytes = 0;
    const total = options.warmup + options.rounds;
    for (let round = 0; round < total; round++) {
      const warm = round < options.warmup;
      const imageDir = path.join(workDir, `image-${round}`);
      const tag = `round-${round}`;
      const image = await makeRandomOciImage(imageDir, sizes, tag);
      const expected = await readOciImage(imageDir, tag);
      // What skopeo moves: the layers, the config and the manifest.
      bytes = image.layers.reduce((sum, layer) => sum + layer.size, image.config.size + image.manifest.length);
      const order = round % 2 === 0 ? runs : [...runs].reverse();
      const figures = [];
      for (const operation of lib.OPERATIONS) {
        for (const { index: i, label, side, samples } of order) {
          const pulledDir = path.join(workDir, `pulled-${round}-${i}`);
          const result = await measure(side.pid, () =>
            operation === 'push' ? pushImage(imageDir, tag, side.host, REPOSITORY) : pullImage(side.host, REPOSITORY, tag, pulledDir, tag),
          );
          if (operation === 'pull') {
            sameImage(expected, await readOciImage(pulledDir, tag), `${backend} round ${round} from ${side.name}`);
            await fsp.rm(pulledDir, { recursive: true, force: true });
          }
          if (!warm) {
            samples[operation].seconds.push(result.seconds);
            samples[operation].cpuSeconds.push(result.cpuSeconds);
          }
          figures.push(`${operation} ${label} ${(bytes / 1e6 / result.seconds).toFixed(1)} MB/s ${result.cpuSeconds.toFixed(2)} CPU s`);
        }
      }
      await fsp.rm(imageDir, { recursive: true, force: true });
      log(`[bench:registry] ${backend} ${warm ? 'warm-up' : 'round'} ${warm ? round + 1 : round - options.warmup + 1}: ${figures.join(', ')}`);
    }
    return lib.OPERATIONS.map((operation) =>
      lib.summariseOperation(backend, operation, bytes, stowageRun.samples[operation], distributionRun.samples[operation]),
    );
  } catch (err) {
    for (const side of sides) log(`[bench:registry] ${side.name} output:\n${side.output().trim().slice(-2000)}`);
    throw err;
  } finally {
    for (const side of sides) await side.stop().catch((err) => log(`[bench:registry] stopping ${side.name} failed: ${err}`));
    if (!options.keep) {
      await storage.cleanUp().catch((err) => log(`[bench:registry] cleanup of ${backend} failed: ${err}`));
      await fsp.rm(workDir, { recursive: true, force: true });
    } else log(`[bench:registry] ${backend}: kept ${workDir}`);
  }
}

async function main(argv) {
  let options;
  try {
    options = lib.parseArgs(argv);
  } catch (err) {
    if (!(err instanceof lib.UsageError)) throw err;
    process.stderr.write(`bench:registry: ${err.message}\n\n${lib.USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${lib.USAGE}\n`);
    return 0;
  }
  // Interrupted: exit through 'exit', whose handlers stop the servers (and a Swift started here).
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
  const jsonToStdout = options.jsonFile === '-';
  const out = jsonToStdout ? process.stderr : process.stdout;
  const log = (line) => process.stderr.write(`${line}\n`);
  await ensureSkopeo();
  await ensureDockerRegistry();
  if (options.cpuProfDir) await fsp.mkdir(options.cpuProfDir, { recursive: true });

  const started = Date.now();
  const entries = [];
  for (const backend of options.backends) entries.push(...(await benchBackend(backend, options, log)));
  const durationSeconds = (Date.now() - started) / 1000;

  const result = {
    settings: {
      backends: options.backends,
      rounds: options.rounds,
      warmup: options.warmup,
      layers: options.layers,
      imageSize: options.imageSize,
      quick: options.quick,
      order: 'per round: push both sides, then pull both; the side that goes first alternates from round to round',
      mbPerSec: '10^6 bytes (layers + config + manifest) / skopeo wall seconds',
      cpuSeconds: 'server process utime + stime from /proc/PID/stat during the operation',
      ratios: 'stowage / docker-registry, median of per-round ratios',
    },
    environment: {
      node: process.version,
      cpus: os.cpus().length,
      loadAverage: os.loadavg(),
      clockTicks: servers.CLOCK_TICKS,
      platform: `${os.type()} ${os.release()}`,
    },
    durationSeconds,
    results: entries,
    passed: lib.overallPass(entries),
  };

  const heading =
    `Registry push/pull: stowage-registry vs docker-registry 2.8.2 — ${options.rounds} round${options.rounds === 1 ? '' : 's'} (+${options.warmup} warm-up), ` +
    `image ${(options.imageSize / 1e6).toFixed(1)} MB in ${options.layers} random layers, MB/s = 10^6 bytes / skopeo wall s, ` +
    `CPU = server utime+stime per operation; cells are median (min-max); ratio = median of per-round stowage/docker-registry; ${durationSeconds.toFixed(0)} s`;
  out.write(
    `\n${heading}\n\n${lib.formatTable(entries)}\n\nOverall: ${result.passed ? 'PASS' : 'FAIL'} (targets: filesystem throughput >= 1.0x and CPU <= 1.0x; s3 and swift throughput >= 0.9x and CPU <= 1/0.9x)\n`,
  );

  const json = JSON.stringify(result, null, 2);
  if (jsonToStdout) process.stdout.write(`${json}\n`);
  else {
    const file = options.jsonFile ?? path.join(os.tmpdir(), `stowage-bench-registry-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await fsp.writeFile(file, `${json}\n`);
    out.write(`JSON written to ${file}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench:registry: failed: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
