'use strict';
/**
 * The two servers of `npm run bench:registry` on one backend: stowage-registry as its own process
 * (`node examples/registry/bin/stowage-registry.js serve CONFIG.yml`, as a user starts it) and
 * docker-registry 2.8.2 (test/services/docker-registry), both with redirects off, deletes on, upload
 * purging off and only error logging, so that both serve every byte themselves and spend CPU only
 * on the work. s3 and swift run against the local Swift (test/services/swift, its port from
 * STOWAGE_SWIFT_PORT), each server in its own root in one fresh bucket / container.
 * Runs after `npm run build` (it loads the test services from build/).
 */
const { spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { parseProcStat } = require('./lib');

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'examples/registry/bin/stowage-registry.js');
const dockerRegistryService = () => require(path.join(ROOT, 'build/test/services/docker-registry'));
const registryServer = () => require(path.join(ROOT, 'build/test/services/registry-server'));

/** Clock ticks per second, the unit of /proc/PID/stat's utime and stime. */
const CLOCK_TICKS = (() => {
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(result.stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/** The process's user + system CPU seconds so far (all its threads). */
function cpuSeconds(pid) {
  return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks / CLOCK_TICKS;
}

/**
 * Starts `stowage-registry serve` on `storage` (a config.yml storage driver section).
 * @param {Record<string, unknown>} storage
 * @param {string} workDir
 * @param {{ cpuProfDir?: string, registryCli?: string }} [options] a CPU profile directory; another registry CLI to run
 */
async function startStowageRegistry(storage, workDir, { cpuProfDir, registryCli } = {}) {
  const { freePort } = dockerRegistryService();
  const port = await freePort();
  const configPath = path.join(workDir, `stowage-registry-${port}.yml`);
  // JSON is YAML.
  const config = {
    version: 0.1,
    log: { level: 'error' },
    storage: { ...storage, delete: { enabled: true }, redirect: { disable: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: `127.0.0.1:${port}` },
  };
  await fsp.writeFile(configPath, JSON.stringify(config, null, 2));
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(cpuProfDir)] : [];
  const server = await registryServer().launchRegistryServer({
    name: 'stowage-registry',
    command: process.execPath,
    args: [...nodeArgs, registryCli ? path.resolve(registryCli) : CLI, 'serve', configPath],
    listen: { port },
  });
  return { name: 'stowage-registry', url: server.url, host: server.host, pid: server.pid, output: server.output, stop: server.stop };
}

async function startDistribution(options) {
  const instance = await dockerRegistryService().startDockerRegistry({ ...options, logLevel: 'error', redirectDisable: true, deleteEnabled: true });
  return { name: 'docker-registry 2.8.2', url: instance.url, host: instance.host, pid: instance.pid, output: instance.output, stop: instance.stop };
}

/**
 * The storage each server gets on `backend`: `{ describe, stowage, distribution, cleanUp() }` with
 * stowage a config.yml storage section and distribution startDockerRegistry's options.
 */
async function prepareBackend(backend, workDir) {
  const run = randomBytes(4).toString('hex');
  if (backend === 'filesystem') {
    const stowageRoot = path.join(workDir, 'stowage-storage');
    const distributionRoot = path.join(workDir, 'distribution-storage');
    await fsp.mkdir(stowageRoot, { recursive: true });
    await fsp.mkdir(distributionRoot, { recursive: true });
    return {
      describe: `filesystem under ${workDir}`,
      stowage: { filesystem: { rootdirectory: stowageRoot } },
      distribution: { rootDirectory: distributionRoot },
      cleanUp: async () => {
        await fsp.rm(stowageRoot, { recursive: true, force: true });
        await fsp.rm(distributionRoot, { recursive: true, force: true });
      },
    };
  }
  const { startSwift } = require(path.join(ROOT, 'build/test/services/swift'));
  const swift = await startSwift();
  if (backend === 's3') {
    const { CreateBucketCommand, DeleteBucketCommand } = require('@aws-sdk/client-s3');
    const { S3Driver } = require('@stowage/s3');
    const bucket = `stowage-bench-registry-${run}`;
    const admin = new S3Driver({
      bucket,
      region: swift.region,
      regionEndpoint: swift.endpoint,
      forcePathStyle: true,
      accessKey: swift.accessKeyId,
      secretKey: swift.secretAccessKey,
    });
    await admin.client.send(new CreateBucketCommand({ Bucket: bucket }));
    const common = { bucket, region: swift.region, regionendpoint: swift.endpoint, accesskey: swift.accessKeyId, secretkey: swift.secretAccessKey };
    return {
      describe: `s3 on the local Swift's s3api at ${swift.endpoint}, bucket ${bucket} (chunksize: both drivers' default, 10 MiB)`,
      stowage: { s3: { ...common, forcepathstyle: true, rootdirectory: '/stowage' } },
      // 2.8.2 goes path-style whenever regionendpoint is set.
      distribution: { storage: { s3: { ...common, secure: false, rootdirectory: '/distribution' } } },
      cleanUp: async () => {
        try {
          await admin.delete('/stowage').catch(() => undefined);
          await admin.delete('/distribution').catch(() => undefined);
          await admin.client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
        } finally {
          admin.destroy();
        }
      },
    };
  }
  if (backend === 'swift') {
    const { SwiftDriver } = require('@stowage/swift');
    const { swiftDriverInternals } = require('@stowage/swift/internal');
    const container = `stowage-bench-registry-${run}`;
    const admin = new SwiftDriver({ authUrl: swift.authUrl, username: swift.user, password: swift.key, container });
    await swiftDriverInternals(admin).container.ensureExists({});
    const common = { authurl: swift.authUrl, username: swift.user, password: swift.key, container };
    return {
      describe: `swift (v1 auth) on the local Swift at ${swift.authUrl}, container ${container} (chunksize: both drivers' default, 20 MiB)`,
      stowage: { swift: { ...common, prefix: 'stowage' } },
      distribution: { storage: { swift: { ...common, prefix: 'distribution' } } },
      cleanUp: async () => {
        try {
          const names = [];
          for await (const object of swiftDriverInternals(admin).container.listAll('')) names.push(object.name);
          for (let i = 0; i < names.length; i += 1000)
            await swiftDriverInternals(admin)
              .container.deleteMany(names.slice(i, i + 1000), {})
              .catch(() => undefined);
          const response = await swiftDriverInternals(admin)
            .client.request({ method: 'DELETE', container, ok: [204, 404, 409] })
            .catch(() => undefined);
          await response?.body.dump();
        } finally {
          await admin.destroy();
        }
      },
    };
  }
  throw new Error(`unknown backend ${backend}`);
}

module.exports = {
  CLOCK_TICKS,
  cpuSeconds,
  startStowageRegistry,
  startDistribution,
  prepareBackend,
  tmpRoot: () => fsp.mkdtemp(path.join(os.tmpdir(), 'stowage-bench-registry-')),
};
