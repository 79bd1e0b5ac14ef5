/**
 * Registry tests' shared parts: a registry started in-process on 127.0.0.1 and a free port over a
 * filesystem (temp dir) or in-memory driver, or over a cloud driver on its local server
 * (cloud-storage.ts), its log captured; HTTP helpers, and a snapshot of everything committed in
 * storage (to prove that bad input changed nothing).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDriver, type StorageDriver } from '@stowage/core';
import '@stowage/filesystem';
import '@stowage/inmemory';
import { createLogger, type LogLevel, parseConfig, startRegistry, type RunningRegistry } from '@stowage/example-registry';
import type { CloudDriverName, TestStorage } from './cloud-storage';

export { CLOUD_DRIVERS, type CloudDriverName, startTestStorage, type TestStorage } from './cloud-storage';

export const REGISTRY_DRIVERS = ['filesystem', 'inmemory'] as const;
export type RegistryDriverName = (typeof REGISTRY_DRIVERS)[number];

export interface TestRegistry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  driver: StorageDriver;
  /** The filesystem driver's rootdirectory (undefined for the others). */
  root: string | undefined;
  running: RunningRegistry;
  /** Every line the registry logged so far (at options.logLevel). */
  log: string[];
  /** The access log: one entry per request answered so far. */
  accessLog(): AccessLogEntry[];
  /** Resolves once the access log holds an entry for which `predicate` holds (rejects after 10 s saying what it holds). */
  waitForAccess(predicate: (entry: AccessLogEntry) => boolean, what: string): Promise<void>;
  close(): Promise<void>;
}

/** One `request` line of the registry's log. */
interface AccessLogEntry {
  method: string;
  path: string;
  /** The status sent, or 'aborted'. */
  status: number | 'aborted';
  /** Bytes written to the connection for this response, headers included. */
  bytes: number;
}

export interface TestRegistryOptions {
  /** Serve this filesystem root instead of a new temp dir (it is then left in place). */
  root?: string;
  /** Extra config.yml lines appended at the top level (e.g. an auth section). */
  extraYaml?: string;
  deleteEnabled?: boolean;
  redirectDisable?: boolean;
  /** Use this driver instead of a new one (it must match `driverName`). */
  driver?: StorageDriver;
  /** For a cloud driver: the bucket/container to serve (startTestStorage, or any config.yml section); required for them. */
  storage?: Pick<TestStorage, 'driverName' | 'parameters'>;
  /** log.level (default error); `info` logs one access line per request. */
  logLevel?: LogLevel;
}

/** Starts the registry through its config.yml parser, as `stowage-registry serve` would. */
export async function startTestRegistry(driverName: RegistryDriverName | CloudDriverName, options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const ownRoot = driverName === 'filesystem' && options.root === undefined ? await mkdtemp(join(tmpdir(), 'stowage-registry-test-')) : undefined;
  const root = options.root ?? ownRoot;
  const yaml = [
    'version: 0.1',
    'log:',
    `  level: ${options.logLevel ?? 'error'}`,
    'storage:',
    storageYaml(driverName, root, options.storage),
    '  delete:',
    `    enabled: ${options.deleteEnabled ?? true}`,
    '  redirect:',
    `    disable: ${options.redirectDisable ?? false}`,
    'http:',
    '  addr: 127.0.0.1:0',
    options.extraYaml ?? '',
  ].join('\n');
  const config = parseConfig(yaml, 'test config');
  const local = driverName === 'filesystem' || driverName === 'inmemory';
  // A cloud driver is built by the registry itself, from config.yml's parameters.
  const driver = options.driver ?? (local ? createDriver(config.storage.driver, config.storage.parameters) : undefined);
  const log: string[] = [];
  const listeners = new Set<() => void>();
  const logger = createLogger(config.log.level, (line) => {
    log.push(line);
    if (/^\S+ error /.test(line)) process.stderr.write(`${line}\n`);
    for (const listener of listeners) listener();
  });
  const running = await startRegistry(config, { ...(driver ? { driver } : {}), logger });
  const accessLog = () => log.map(parseAccessLine).filter((entry): entry is AccessLogEntry => entry !== undefined);
  return {
    url: running.url,
    host: running.url.slice('http://'.length),
    driver: running.driver,
    root,
    running,
    log,
    accessLog,
    waitForAccess(predicate, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!accessLog().some(predicate)) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `the registry logged no ${what} within 10 s; its access log:\n${accessLog()
                .map((e) => `${e.method} ${e.path} ${e.status} ${e.bytes}`)
                .join('\n')}`,
            ),
          );
        }, 10_000);
        listeners.add(check);
        check();
      });
    },
    async close() {
      await running.close();
      // A driver the registry built holds connections (SDK clients); a given one is the caller's.
      if (!driver) await (running.driver as { destroy?: () => unknown }).destroy?.();
      if (ownRoot) await rm(ownRoot, { recursive: true, force: true });
    },
  };
}

/** The driver's part of config.yml's `storage:` section (a cloud driver's parameters as a JSON flow mapping, which is YAML). */
function storageYaml(driverName: RegistryDriverName | CloudDriverName, root: string | undefined, storage: TestRegistryOptions['storage']): string {
  if (driverName === 'filesystem') return `  filesystem:\n    rootdirectory: ${JSON.stringify(root)}`;
  if (driverName === 'inmemory') return '  inmemory:';
  if (storage?.driverName !== driverName) throw new TypeError(`startTestRegistry(${driverName}) needs options.storage for ${driverName} (startTestStorage)`);
  return `  ${driverName}: ${JSON.stringify(storage.parameters)}`;
}

/** `TIME info request method=GET path=/v2/... status=307 bytes=123 received=0 ms=1` */
function parseAccessLine(line: string): AccessLogEntry | undefined {
  const match = /^\S+ info request (.*)$/.exec(line);
  if (!match) return undefined;
  const fields = new Map<string, string>();
  for (const pair of match[1]!.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g))
    fields.set(pair[1]!, pair[2]!.startsWith('"') ? (JSON.parse(pair[2]!) as string) : pair[2]!);
  const status = fields.get('status')!;
  return {
    method: fields.get('method')!,
    path: fields.get('path')!,
    status: status === 'aborted' ? 'aborted' : Number(status),
    bytes: Number(fields.get('bytes')),
  };
}

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A response with its body read. */
export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  json(): any;
}

/** fetch against the registry, body read; never follows redirects. */
export async function call(
  registry: { url: string },
  method: string,
  path: string,
  init: { body?: Uint8Array | string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const response = await fetch(`${registry.url}${path}`, {
    method,
    redirect: 'manual',
    headers: init.headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body, json: () => JSON.parse(body.toString('utf8')) };
}

/** Asserts a spec error response: status and the first error's code. */
export function assertError(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, `status (body: ${reply.body.toString('utf8').slice(0, 300)})`);
  assert.equal(reply.json().errors[0].code, code);
}

/** Uploads `data` as a blob of `repo` with a monolithic POST; returns its digest. */
export async function pushBlob(registry: { url: string }, repo: string, data: Uint8Array): Promise<string> {
  const digest = sha256Digest(data);
  const reply = await call(registry, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    body: data,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  assert.equal(reply.status, 201, reply.body.toString());
  return digest;
}

/** Starts an upload session; returns its Location path. */
export async function startUpload(registry: { url: string }, repo: string): Promise<string> {
  const reply = await call(registry, 'POST', `/v2/${repo}/blobs/uploads/`);
  assert.equal(reply.status, 202, reply.body.toString());
  return reply.headers.get('location')!;
}

/** An OCI image manifest for blobs already pushed to `repo`: a config and `layers` random layers. */
export async function pushImage(
  registry: { url: string },
  repo: string,
  tag: string,
  extra: Record<string, unknown> = {},
  layers = 1,
): Promise<{ digest: string; bytes: Buffer }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const configDigest = await pushBlob(registry, repo, config);
  const layerDescriptors = [];
  for (let i = 0; i < layers; i++) {
    const layer = randomBytes(1000 + i);
    layerDescriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await pushBlob(registry, repo, layer), size: layer.length });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layerDescriptors,
    ...extra,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const reply = await call(registry, 'PUT', `/v2/${repo}/manifests/${tag}`, { body: bytes, headers: { 'Content-Type': manifest.mediaType } });
  assert.equal(reply.status, 201, reply.body.toString());
  return { digest: sha256Digest(bytes), bytes };
}

/** Every committed file in the driver with its size and hash: equal snapshots mean nothing changed. */
export async function snapshot(driver: StorageDriver): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  try {
    await driver.walk('/', async (info) => {
      if (!info.isDir) files.set(info.path, sha256Digest(await driver.getContent(info.path)));
    });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_PATH_NOT_FOUND') throw err;
  }
  return files;
}

/**
 * Sends a request whose body is `sent` but whose Content-Length promises more, then closes the
 * connection once `sent` is on the wire: a client that dies mid-upload.
 */
export function disconnectMidBody(registry: { url: string }, method: string, path: string, sent: Buffer, promised: number): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(new URL(path, registry.url), {
      method,
      headers: { 'Content-Length': String(promised), 'Content-Type': 'application/octet-stream' },
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve());
    req.write(sent, () => req.destroy());
  });
}

/**
 * One describe per driver (filesystem, in-memory), each with a fresh registry for the block; `body`
 * gets a function returning the running one.
 */
export function describeRegistry(title: string, body: (registry: () => TestRegistry) => void, options: TestRegistryOptions = {}): void {
  for (const driverName of REGISTRY_DRIVERS) {
    describe(`registry ${title} (${driverName})`, () => {
      let registry: TestRegistry | undefined;
      before(async () => {
        registry = await startTestRegistry(driverName, options);
      });
      after(async () => {
        await registry?.close();
      });
      body(() => registry!);
    });
  }
}
