'use strict';
/**
 * Bench setup for --driver swift: the Swift driver and plain fetch against the same local Swift
 * proxy, in the same container under different names. The baseline is what a hand-written client
 * would do with Node's fetch: PUT/GET of whole objects, and for stream writes segments of the
 * driver's chunk size PUT with the same number in flight plus an SLO manifest (a segmented PUT).
 * Starts Swift itself (test/services/swift) unless STOWAGE_SWIFT_AUTHURL points elsewhere (then
 * STOWAGE_SWIFT_USERNAME / _PASSWORD / _CONTAINER / _AUTHVERSION come from the environment).
 */
const { randomBytes } = require('node:crypto');
const { Readable } = require('node:stream');
const bench = require('@stowage/conformance/bench');
const { deleteUnder } = require('./_baseline');
const { SwiftDriver, DEFAULT_SEGMENT_CONCURRENCY } = require('@stowage/swift');
const { swiftDriverInternals } = require('@stowage/swift/internal');
/** @typedef {import('@stowage/swift').SwiftDriverOptions} SwiftDriverOptions */

const MiB = 1024 * 1024;

async function driverOptions() {
  const run = randomBytes(4).toString('hex');
  if (process.env.STOWAGE_SWIFT_AUTHURL) {
    return {
      authUrl: process.env.STOWAGE_SWIFT_AUTHURL,
      // The driver checks the value (1, 2 or 3) and names the option when it is another.
      authVersion: process.env.STOWAGE_SWIFT_AUTHVERSION
        ? /** @type {SwiftDriverOptions['authVersion']} */ (Number(process.env.STOWAGE_SWIFT_AUTHVERSION))
        : undefined,
      username: process.env.STOWAGE_SWIFT_USERNAME,
      password: process.env.STOWAGE_SWIFT_PASSWORD,
      tenant: process.env.STOWAGE_SWIFT_TENANT,
      domain: process.env.STOWAGE_SWIFT_DOMAIN,
      region: process.env.STOWAGE_SWIFT_REGION,
      container: process.env.STOWAGE_SWIFT_CONTAINER || `stowage-bench-${run}`,
      prefix: `bench-${run}/driver`,
    };
  }
  const { startSwift } = require('../../build/test/services/swift');
  const swift = await startSwift();
  return { authUrl: swift.authUrl, username: swift.user, password: swift.key, container: `stowage-bench-${run}`, prefix: `bench-${run}/driver` };
}

/** Plain fetch with the driver's token and storage URL, doing what the driver does. */
function fetchBaseline(driver, prefix, segmentSize, inFlight) {
  const container = swiftDriverInternals(driver).container.name;
  const objectUrl = async (name) =>
    `${await swiftDriverInternals(driver).client.storageUrl()}/${container}/${name.split('/').map(encodeURIComponent).join('/')}`;
  const token = async () => (await swiftDriverInternals(driver).client.session.credentials()).token;
  const name = (key) => `${prefix}${key}`;
  const ok = async (response, what) => {
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`);
    return response;
  };
  const put = async (objectName, body, query = '', headers = {}) => {
    const response = await fetch(`${await objectUrl(objectName)}${query}`, { method: 'PUT', body, headers: { 'x-auth-token': await token(), ...headers } });
    await ok(response, `PUT ${objectName}`);
    await response.arrayBuffer();
    return response;
  };
  async function* namesUnder(p) {
    for await (const object of swiftDriverInternals(driver).container.listAll(p)) yield object.name;
  }
  return {
    name: 'fetch (PUT / GET, segments + SLO manifest for streams)',
    put: (key, content) => put(name(key), content),
    get: async (key) =>
      new Uint8Array(await (await ok(await fetch(await objectUrl(name(key)), { headers: { 'x-auth-token': await token() } }), 'GET')).arrayBuffer()),
    streamWrite: async (key, chunks) => {
      // Segments of `segmentSize`, `inFlight` at a time, then one manifest.
      const segments = [];
      const running = new Set();
      let buffer = Buffer.allocUnsafe(segmentSize);
      let fill = 0;
      const send = async () => {
        const index = segments.length;
        const segmentName = `${name(key)}.segments/${String(index + 1).padStart(16, '0')}`;
        const body = buffer.subarray(0, fill);
        segments.push({ path: `/${container}/${segmentName}`, size_bytes: fill });
        buffer = Buffer.allocUnsafe(segmentSize);
        fill = 0;
        const sending = put(segmentName, body).then((response) => {
          segments[index].etag = (response.headers.get('etag') || '').replace(/"/g, '');
        });
        running.add(sending);
        sending.finally(() => running.delete(sending)).catch(() => undefined);
        if (running.size >= inFlight) await Promise.race(running);
      };
      for (const chunk of chunks) {
        let offset = 0;
        while (offset < chunk.length) {
          const n = Math.min(chunk.length - offset, segmentSize - fill);
          buffer.set(chunk.subarray(offset, offset + n), fill);
          fill += n;
          offset += n;
          if (fill === segmentSize) await send();
        }
      }
      if (fill > 0) await send();
      await Promise.all(running);
      await put(name(key), JSON.stringify(segments), '?multipart-manifest=put', { 'content-type': 'application/octet-stream' });
    },
    streamRead: async (key) => {
      const response = await ok(await fetch(await objectUrl(name(key)), { headers: { 'x-auth-token': await token() } }), 'GET');
      return Readable.fromWeb(response.body);
    },
    list: async (dir) => {
      const names = [];
      for await (const page of swiftDriverInternals(driver).container.list(`${name(dir)}/`, { delimiter: '/' })) {
        names.push(...page.objects.map((o) => o.name), ...page.prefixes.map((p) => p.slice(0, -1)));
      }
      return names
        .filter((n) => !n.endsWith('.segments'))
        .map((n) => n.slice(prefix.length))
        .sort();
    },
    delete: (key) => deleteUnder(namesUnder(name(key)), name(key), (batch) => swiftDriverInternals(driver).container.deleteMany(batch, {})),
  };
}

async function setUp() {
  const options = await driverOptions();
  const driver = new SwiftDriver(options);
  const concurrency = DEFAULT_SEGMENT_CONCURRENCY;
  await swiftDriverInternals(driver).container.ensureExists({});
  return {
    driver,
    baseline: fetchBaseline(driver, `${options.prefix.replace(/\/driver$/, '')}/baseline`, driver.chunkSize, concurrency),
    contentInProcess: false,
    targets: bench.CLOUD_TARGETS,
    // The writer's bound: chunksize x (segments in flight + 1) of buffers, plus 24 MiB for undici's sockets and code.
    memoryLimit: driver.chunkSize * (concurrency + 1) + 24 * MiB,
    describe: `Swift at ${options.authUrl}, container ${options.container}, chunksize ${driver.chunkSize / MiB} MiB, ${concurrency} segments in flight`,
    async tearDown() {
      const names = [];
      for await (const object of swiftDriverInternals(driver).container.listAll(`${options.prefix.replace(/\/driver$/, '')}/`)) names.push(object.name);
      await swiftDriverInternals(driver)
        .container.deleteMany(names, {})
        .catch(() => undefined);
      if (!process.env.STOWAGE_SWIFT_CONTAINER) {
        const response = await swiftDriverInternals(driver)
          .client.request({ method: 'DELETE', container: options.container, ok: [204, 404, 409] })
          .catch(() => undefined);
        await response?.body.dump();
      }
      await driver.destroy();
    },
  };
}

module.exports = { setUp };
