/**
 * Building middleware from config: distribution-shaped YAML (`middleware: storage: [{name, options}]`)
 * through applyMiddleware, the order of wrapping, and the typed errors for bad entries and options.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  RedirectMiddleware,
  applyMiddleware,
  createDriver,
  isInvalidParameter,
  registerMiddleware,
  registeredMiddleware,
  type MiddlewareConfig,
  type StorageDriver,
} from '@stowage/core';
import '@stowage/inmemory';
import { ChaosMiddleware, CloudFrontMiddleware, InstrumentMiddleware, RegulatorMiddleware, RetryMiddleware, RewriteMiddleware } from '@stowage/middleware';

interface Config {
  storage: Record<string, Record<string, unknown>>;
  middleware: { storage: MiddlewareConfig[] };
}

/** The driver and its middleware from a config.yml text, as a registry would build them. */
function fromYaml(text: string): StorageDriver {
  const config = parse(text) as Config;
  const [name, parameters] = Object.entries(config.storage)[0]!;
  return applyMiddleware(createDriver(name, parameters ?? {}), config.middleware?.storage);
}

/** The chain of decorators from the outside in, by class name. */
function chain(driver: StorageDriver): string[] {
  const names: string[] = [];
  let current: unknown = driver;
  while (current) {
    names.push((current as { constructor: { name: string } }).constructor.name);
    current = (current as { inner?: unknown }).inner;
  }
  return names;
}

describe('middleware: config-driven construction', () => {
  let dir: string;
  let keyFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-mw-'));
    keyFile = join(dir, 'cloudfront.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('every middleware is registered by name once @stowage/middleware is loaded, redirect by core', () => {
    const names = registeredMiddleware();
    for (const name of ['redirect', 'regulator', 'retry', 'instrument', 'cloudfront', 'rewrite', 'chaos']) assert.ok(names.includes(name), name);
  });

  it('builds every middleware from distribution-shaped YAML, the first listed innermost', async () => {
    const driver = fromYaml(`
version: 0.1
storage:
  inmemory: {}
middleware:
  storage:
    - name: chaos
      options:
        seed: 42
        errorrate: 0
        latencyrate: 0.1
        maxlatency: 1ms
        streamfailurerate: 0%
        operations: [getContent, reader]
    - name: retry
      options:
        maxattempts: 5
        basedelay: 50ms
        maxdelay: 2s
        budget: 10s
    - name: regulator
      options:
        maxthreads: 8
    - name: instrument
      options:
        driverlabel: primary
    - name: redirect
      options:
        baseurl: https://origin.example.test/registry
    - name: rewrite
      options:
        scheme: http
        host: cdn.example.test:8080
        trimprefix: /registry
    - name: cloudfront
      options:
        baseurl: https://d111111abcdef8.cloudfront.net/
        privatekey: ${keyFile}
        keypairid: K2JCJMDEHXQW5F
        duration: 3000s
        ipfilteredby: none
`);
    assert.deepEqual(chain(driver), [
      'CloudFrontMiddleware',
      'RewriteMiddleware',
      'RedirectMiddleware',
      'InstrumentMiddleware',
      'RegulatorMiddleware',
      'RetryMiddleware',
      'ChaosMiddleware',
      'InMemoryDriver',
    ]);
    let layer: unknown = driver;
    const find = <T>(type: abstract new (...args: never[]) => T): T => {
      layer = driver;
      while (layer && !(layer instanceof type)) layer = (layer as { inner?: unknown }).inner;
      return layer as T;
    };
    assert.equal(find(RegulatorMiddleware).maxConcurrency, 8);
    const retry = find(RetryMiddleware);
    assert.deepEqual([retry.maxAttempts, retry.baseDelayMs, retry.maxDelayMs, retry.budgetMs], [5, 50, 2000, 10_000]);
    assert.equal(find(ChaosMiddleware).seed, 42);
    assert.ok(find(InstrumentMiddleware) instanceof InstrumentMiddleware);
    assert.ok(find(RedirectMiddleware) instanceof RedirectMiddleware);
    assert.ok(find(RewriteMiddleware) instanceof RewriteMiddleware);
    // The stack works end to end.
    await driver.putContent('/a/b', Buffer.from('hello'));
    assert.equal((await driver.getContent('/a/b')).toString(), 'hello');
    const url = new URL((await driver.redirectURL('/a/b'))!);
    assert.equal(url.origin, 'https://d111111abcdef8.cloudfront.net');
    assert.equal(url.pathname, '/a/b');
    assert.equal(url.searchParams.get('Key-Pair-Id'), 'K2JCJMDEHXQW5F');
    find(CloudFrontMiddleware).close();
  });

  it('rewrite over redirect, from YAML: the redirect URL gets the new scheme and host, its prefix trimmed', async () => {
    const driver = fromYaml(`
storage:
  inmemory:
middleware:
  storage:
    - name: redirect
      options: { baseurl: "https://origin.example.test/registry" }
    - name: rewrite
      options: { scheme: http, host: "cdn.example.test:8080", trimprefix: /registry }
`);
    await driver.putContent('/docker/registry/v2/blob', Buffer.from('x'));
    assert.equal(await driver.redirectURL('/docker/registry/v2/blob'), 'http://cdn.example.test:8080/docker/registry/v2/blob');
  });

  it('no middleware section, or an empty list, gives the driver itself', () => {
    const bare = createDriver('inmemory', {});
    assert.equal(applyMiddleware(bare, undefined), bare);
    assert.equal(applyMiddleware(bare, null), bare);
    assert.equal(applyMiddleware(bare, []), bare);
    assert.equal(fromYaml('storage:\n  inmemory: {}\nmiddleware:\n  storage: []\n').constructor.name, 'InMemoryDriver');
  });

  it('bad entries, unknown names and bad options are InvalidParameterErrors naming the middleware and option', () => {
    const bare = createDriver('inmemory', {});
    const rejects = (config: unknown, pattern: RegExp) =>
      assert.throws(
        () => applyMiddleware(bare, config as MiddlewareConfig[]),
        (err: Error) => isInvalidParameter(err) && pattern.test(err.message),
      );
    rejects({ name: 'retry' }, /middleware: parameter storage: must be a list/);
    rejects(['retry'], /storage\[0\]: must be a \{ name, options \} entry/);
    rejects([{ options: {} }], /storage\[0\]\.name: must be a non-empty string/);
    rejects([{ name: 'nosuch' }], /nosuch: parameter storage\[0\]\.name: no storage middleware registered under this name \(registered: chaos, .*redirect/);
    rejects([{ name: 'retry', options: [1] }], /retry: parameter options: must be a map/);
    rejects([{ name: 'retry', options: { maxattempts: 'many' } }], /retry: parameter maxattempts: must be an integer/);
    rejects([{ name: 'retry', options: { maxattempts: 0 } }], /retry: parameter maxattempts: must be an integer from 1 to 100, got 0/);
    rejects([{ name: 'retry', options: { basedelay: 'soon' } }], /retry: parameter basedelay: must be a positive duration/);
    rejects([{ name: 'retry', options: { basedelay: '1s', maxdelay: '100ms' } }], /retry: parameter maxdelay: must be an integer >= 1000, got 100/);
    rejects(
      [{ name: 'retry', options: { maxatempts: 3 } }],
      /retry: parameter maxatempts: unknown option \(retry takes maxattempts, basedelay, maxdelay, budget, resumereads\)/,
    );
    rejects([{ name: 'regulator', options: { maxthreads: 0 } }], /regulator: parameter maxthreads: must be an integer >= 1, got 0/);
    rejects([{ name: 'chaos', options: { errorrate: 1.5 } }], /chaos: parameter errorrate: must be a rate from 0 to 1/);
    rejects([{ name: 'chaos', options: { operations: ['stat', 'fly'] } }], /chaos: parameter operations: unknown operations fly/);
    rejects([{ name: 'rewrite', options: { scheme: 'ftp' } }], /rewrite: parameter scheme: must be http or https/);
    rejects([{ name: 'rewrite', options: { host: 'a/b' } }], /rewrite: parameter host: must be a host or host:port/);
    rejects([{ name: 'rewrite', options: { trimprefix: 'registry' } }], /rewrite: parameter trimprefix: must start with \//);
    rejects([{ name: 'redirect', options: {} }], /redirect: parameter baseurl: is required/);
    rejects([{ name: 'redirect', options: { baseurl: 'ftp://x/' } }], /redirect: parameter baseurl: must be an http or https URL/);
    rejects([{ name: 'instrument', options: { recordpaths: 'maybe' } }], /instrument: parameter recordpaths: must be true or false/);
    rejects(
      [{ name: 'cloudfront', options: { baseurl: 'https://d.cloudfront.net', keypairid: 'K', privatekey: join(dir, 'missing.pem') } }],
      /cloudfront: parameter privatekey: cannot read the key file .*ENOENT/,
    );
    rejects(
      [{ name: 'cloudfront', options: { baseurl: 'https://d.cloudfront.net', keypairid: 'K', privatekey: keyFile, ipfilteredby: 'awsregion' } }],
      /cloudfront: parameter awsregion: is required/,
    );
    rejects(
      [{ name: 'cloudfront', options: { baseurl: 'https://d.cloudfront.net', keypairid: 'K', privatekey: keyFile, ipfilteredby: 'gcp' } }],
      /cloudfront: parameter ipfilteredby: must be none, aws or awsregion/,
    );
  });

  it('the registry is one per process (shared by copies of core through a global symbol), and refuses a second factory under a taken name', () => {
    const shared = (globalThis as Record<symbol, unknown>)[Symbol.for('@stowage/core/middleware-registry@1')] as Map<string, unknown>;
    assert.ok(shared instanceof Map && shared.has('retry') && shared.has('redirect'));
    assert.throws(() => registerMiddleware('retry', (driver) => driver), isInvalidParameter);
    assert.throws(() => registerMiddleware('', (driver) => driver), isInvalidParameter);
  });

  it('names the package to import for a first-party middleware that is not registered', () => {
    const shared = (globalThis as Record<symbol, unknown>)[Symbol.for('@stowage/core/middleware-registry@1')] as Map<string, unknown>;
    const saved = shared.get('chaos');
    shared.delete('chaos');
    try {
      assert.throws(
        () => applyMiddleware(createDriver('inmemory', {}), [{ name: 'chaos' }]),
        (err: Error) => isInvalidParameter(err) && /import @stowage\/middleware to register it/.test(err.message),
      );
    } finally {
      shared.set('chaos', saved);
    }
  });
});
