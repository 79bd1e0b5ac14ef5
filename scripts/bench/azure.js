'use strict';
/**
 * Bench setup for --driver azure: the Azure driver next to plain SDK calls (BlockBlobClient
 * uploadStream / upload / download, listBlobsByHierarchy, deletes) on the same Azurite, in the same
 * container under different prefixes, with the same block size and parallelism. Starts Azurite
 * itself (test/services/azurite, installed on demand), unless STOWAGE_AZURE_CONTAINER names a real
 * account (the variables of test/unit/azure/target.ts).
 */
const { randomBytes } = require('node:crypto');
const { Readable } = require('node:stream');
const bench = require('@stowage/conformance/bench');
const { AzureDriver } = require('@stowage/azure');

const MiB = 1024 * 1024;

async function target() {
  const { realAzureOptions } = require('../../build/test/unit/azure/target');
  const real = realAzureOptions();
  const run = randomBytes(4).toString('hex');
  if (real) {
    const base = `${real.rootDirectory ?? ''}/stowage-bench-${run}`.replace(/^\/+/, '');
    return {
      options: { ...real, rootDirectory: `${base}/driver` },
      baselinePrefix: `${base}/baseline`,
      describe: `Azure account ${real.accountName ?? '(connection string)'}, container ${real.container}`,
      async cleanUp(driver) {
        // What the run left below its directory (nothing, unless it failed).
        await new AzureDriver({ ...real, rootDirectory: base }).delete('/driver').catch(() => undefined);
        await new AzureDriver({ ...real, rootDirectory: base }).delete('/baseline').catch(() => undefined);
        void driver;
      },
    };
  }
  const azurite = require('../../build/test/services/azurite');
  const instance = await azurite.startAzurite();
  return {
    options: {
      serviceUrl: instance.serviceUrl,
      accountName: instance.accountName,
      accountKey: instance.accountKey,
      container: `stowage-bench-${run}`,
      rootDirectory: 'driver',
    },
    baselinePrefix: 'baseline',
    describe: `Azurite ${azurite.AZURITE_VERSION} (${instance.persistence}) at ${instance.serviceUrl}, pid ${instance.pid}`,
    async cleanUp(driver) {
      await driver.containerClient.deleteIfExists().catch(() => undefined);
      await azurite.stopAzurite();
    },
  };
}

/** Plain SDK calls doing what the driver does, with the driver's block size and parallelism. */
function sdkBaseline(container, prefix, blockSize, concurrency) {
  const name = (key) => `${prefix}${key}`;
  const blob = (key) => container.getBlockBlobClient(name(key));
  return {
    name: '@azure/storage-blob (uploadStream / download)',
    put: async (key, content) => {
      await blob(key).upload(content, content.length);
    },
    get: async (key) => {
      const response = await blob(key).download(0);
      const chunks = [];
      for await (const chunk of response.readableStreamBody) chunks.push(chunk);
      return Buffer.concat(chunks);
    },
    streamWrite: async (key, chunks) => {
      await blob(key).uploadStream(Readable.from(chunks), blockSize, concurrency);
    },
    streamRead: async (key) => (await blob(key).download(0)).readableStreamBody,
    list: async (dir) => {
      const names = [];
      for await (const item of container.listBlobsByHierarchy('/', { prefix: name(`${dir}/`) })) {
        names.push(item.kind === 'prefix' ? item.name.slice(0, -1) : item.name);
      }
      return names.map((n) => n.slice(prefix.length)).sort();
    },
    delete: async (key) => {
      const names = [];
      for await (const item of container.listBlobsFlat({ prefix: name(key) })) {
        if (item.name === name(key) || item.name.startsWith(`${name(key)}/`)) names.push(item.name);
      }
      for (let i = 0; i < names.length; i += 256) {
        const batch = names.slice(i, i + 256).map((n) => container.getBlobClient(n));
        if (batch.length === 1) await batch[0].delete();
        else await container.getBlobBatchClient().deleteBlobs(batch);
      }
    },
  };
}

async function setUp() {
  const where = await target();
  const driver = new AzureDriver(where.options);
  await driver.containerClient.createIfNotExists();
  return {
    driver,
    // Blobs below baseline/ in the same container, through the driver's own SDK client.
    baseline: sdkBaseline(driver.containerClient, where.baselinePrefix, driver.blockSize, driver.uploadConcurrency),
    contentInProcess: false,
    targets: bench.CLOUD_TARGETS,
    // The writer's bound: blocksize x (uploadconcurrency + 1) of block buffers, plus 24 MiB for
    // the SDK's code, sockets and request objects.
    memoryLimit: driver.blockSize * (driver.uploadConcurrency + 1) + 24 * MiB,
    describe: `${where.describe}, container ${driver.containerName}, block size ${driver.blockSize / MiB} MiB, ${driver.uploadConcurrency} blocks in flight`,
    async tearDown() {
      await where.cleanUp(driver);
    },
  };
}

module.exports = { setUp };
