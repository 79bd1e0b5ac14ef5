'use strict';
/**
 * Bench setup for --driver oss: the OSS driver next to plain ali-oss calls (multipartUpload for
 * stream writes, getStream for stream reads, put/get, listV2, deleteMulti), both against the local
 * OSS server (test/services/oss), in one bucket under different prefixes, with the same part size
 * and parallelism.
 *
 * The server runs as its own process by default (build/test/services/oss/main.js, stopped by PID
 * at the end): it keeps every object in its memory, which would otherwise swamp the RSS the memory
 * check measures, and on a small machine it would share one thread with the code being measured.
 * STOWAGE_OSS_BENCH_SERVER=inline starts it in this process instead (server.js); the memory check
 * then subtracts the stored bytes (contentInProcess) and bounds little.
 */
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const readline = require('node:readline');
const OSS = require('ali-oss');
const bench = require('@stowage/conformance/bench');
const { deleteUnder } = require('./_baseline');
const { OssDriver, DEFAULT_MULTIPART_CONCURRENCY } = require('@stowage/oss');

const SERVER_DIR = path.join(__dirname, '..', '..', 'build', 'test', 'services', 'oss');

const MiB = 1024 * 1024;

/** Plain ali-oss doing what the driver does, with its own client (ali-oss's default transport and agents). */
function aliOssBaseline(client, prefix, partSize, parallel) {
  const key = (k) => `${prefix}${k}`;
  async function* keysUnder(p) {
    let token;
    do {
      const page = await client.listV2({ prefix: p, 'max-keys': 1000, ...(token ? { 'continuation-token': token } : {}) });
      for (const o of page.objects ?? []) yield o.name;
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token);
  }
  return {
    name: 'ali-oss (multipartUpload / getStream)',
    put: async (k, content) => {
      await client.put(key(k), content);
    },
    get: async (k) => (await client.get(key(k))).content,
    // multipartUpload takes a whole Buffer (or a file), not a stream: the chunks are joined first.
    streamWrite: async (k, chunks) => {
      await client.multipartUpload(key(k), Buffer.concat([...chunks]), { partSize, parallel });
    },
    streamRead: async (k) => (await client.getStream(key(k))).stream,
    list: async (dir) => {
      const page = await client.listV2({ prefix: key(`${dir}/`), delimiter: '/', 'max-keys': 1000 });
      const names = [...(page.objects ?? []).map((o) => o.name), ...(page.prefixes ?? []).map((p) => p.slice(0, -1))];
      return names.map((n) => n.slice(prefix.length)).sort();
    },
    delete: (k) => deleteUnder(keysUnder(key(k)), key(k), (batch) => client.deleteMulti(batch, { quiet: true })),
  };
}

/** The local server in a child process: its connection details, and how to stop it (by PID). */
async function startServerProcess() {
  const child = spawn(process.execPath, [path.join(SERVER_DIR, 'main.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const line = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (text) => {
      lines.close();
      resolve(text);
    });
    child.once('exit', (code) => reject(new Error(`the local OSS server exited (code ${code}) before it listened`)));
  });
  const info = JSON.parse(line);
  return {
    ...info,
    where: `its own process (pid ${child.pid})`,
    async close() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startServerInline() {
  const { startOssServer } = require(path.join(SERVER_DIR, 'server.js'));
  const server = await startOssServer();
  return { ...server, where: 'this process' };
}

async function setUp() {
  const inline = process.env.STOWAGE_OSS_BENCH_SERVER === 'inline';
  const server = inline ? await startServerInline() : await startServerProcess();
  const run = randomBytes(4).toString('hex');
  const bucket = `stowage-bench-${run}`;
  const connection = {
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
    region: server.region,
    endpoint: server.endpoint,
    bucket,
  };
  try {
    const driver = new OssDriver({ ...connection, pathStyle: true, rootDirectory: `/bench-${run}/driver` });
    // sldEnable (bucket in the path, as the local server needs) is an ali-oss option that its @types lack.
    const clientOptions = { ...connection, sldEnable: true };
    const client = new OSS(clientOptions);
    await client.putBucket(bucket);
    const concurrency = DEFAULT_MULTIPART_CONCURRENCY;
    return {
      driver,
      baseline: aliOssBaseline(client, `bench-${run}/baseline`, driver.chunkSize, concurrency),
      contentInProcess: inline,
      targets: bench.CLOUD_TARGETS,
      // The writer's bound: chunksize x (multipartconcurrency + 1) part buffers, plus 24 MiB for
      // ali-oss, urllib, sockets and request objects.
      memoryLimit: driver.chunkSize * (concurrency + 1) + 24 * MiB,
      describe: `local OSS server at ${server.endpoint} in ${server.where}, bucket ${bucket}, chunksize ${driver.chunkSize / MiB} MiB, ${concurrency} parts in flight, V1 signatures`,
      async tearDown() {
        await server.close();
      },
    };
  } catch (err) {
    await server.close();
    throw err;
  }
}

module.exports = { setUp };
