/**
 * Debian's docker-registry (distribution 2.8.2) as a local test server: the reference registry this
 * project's example registry must be byte-compatible with. startDockerRegistry() installs the package
 * on first use (see apt.ts), writes a config.yml for a filesystem storage in a given directory, starts
 * `docker-registry serve` on 127.0.0.1 and a free port, waits until `GET /v2/` answers, and returns a
 * handle whose stop() ends it by PID. It is also killed when this process exits.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchRegistryServer } from '../registry-server';
import { ensureDebianPackage, ServiceUnavailableError } from './apt';

export { ServiceUnavailableError } from './apt';

const DOCKER_REGISTRY_BINARY = '/usr/bin/docker-registry';

/** Options of startDockerRegistry: either a filesystem rootDirectory or a whole `storage` driver section. */
export interface DockerRegistryOptions {
  /** The filesystem driver's rootdirectory (it must exist; it is left in place on stop). */
  rootDirectory?: string;
  /**
   * Instead of rootDirectory: the driver's part of config.yml's `storage:` section, e.g.
   * `{ s3: { bucket, regionendpoint, ... } }` or `{ swift: { authurl, ... } }`.
   */
  storage?: Record<string, unknown>;
  /** Another build of distribution (e.g. one with the oss driver); default DOCKER_REGISTRY_BINARY. */
  binary?: string;
  /** The server's whole environment (default: this process's without AWS_* and REGISTRY_* variables). */
  env?: NodeJS.ProcessEnv;
  /** storage.redirect.disable (default true). */
  redirectDisable?: boolean;
  /** storage.delete.enabled (default true). */
  deleteEnabled?: boolean;
  /** log.level (default 'error', so that test output stays quiet). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

/** A running docker-registry. */
export interface DockerRegistryInstance {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the host part of a skopeo `docker://` reference. */
  host: string;
  port: number;
  pid: number;
  /** The filesystem rootdirectory, when it serves one. */
  rootDirectory: string | undefined;
  /** Everything the server wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  /** Stops the server by PID and removes its config; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Installs Debian's docker-registry if it is missing (as root), or throws ServiceUnavailableError. */
export function ensureDockerRegistry(): Promise<void> {
  return ensureDebianPackage('docker-registry', DOCKER_REGISTRY_BINARY);
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1.
 * @public used by scripts/bench-registry/servers.js from build/
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts docker-registry serving options.storage, or a filesystem storage rooted at options.rootDirectory. */
export async function startDockerRegistry(options: DockerRegistryOptions): Promise<DockerRegistryInstance> {
  await ensureDockerRegistry();
  const configDir = await mkdtemp(join(tmpdir(), 'stowage-docker-registry-'));
  try {
    return await launch(options, configDir);
  } catch (err) {
    await rm(configDir, { recursive: true, force: true });
    throw err;
  }
}

function configYaml(options: DockerRegistryOptions, port: number): string {
  // JSON is YAML: no quoting questions for the directory name.
  return JSON.stringify({
    version: 0.1,
    log: { level: options.logLevel ?? 'error', accesslog: { disabled: true } },
    storage: {
      ...storageSection(options),
      delete: { enabled: options.deleteEnabled ?? true },
      redirect: { disable: options.redirectDisable ?? true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}` },
  });
}

function storageSection(options: DockerRegistryOptions): Record<string, unknown> {
  if (options.storage) return options.storage;
  if (options.rootDirectory === undefined) throw new TypeError('startDockerRegistry: give rootDirectory or storage');
  return { filesystem: { rootdirectory: options.rootDirectory } };
}

/**
 * 2.8.2 reads AWS_* (a CA-bundle variable makes its s3 driver panic) and REGISTRY_* (config
 * overrides) from its environment; the tests' own settings must not leak into it.
 */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AWS_|REGISTRY_)/.test(name)));
}

async function launch(options: DockerRegistryOptions, configDir: string): Promise<DockerRegistryInstance> {
  const port = await freePort();
  const configPath = join(configDir, 'config.yml');
  await writeFile(configPath, configYaml(options, port));
  const server = await launchRegistryServer({
    name: 'docker-registry',
    command: options.binary ?? DOCKER_REGISTRY_BINARY,
    args: ['serve', configPath],
    env: options.env ?? cleanEnvironment(),
    listen: { port },
    errorClass: ServiceUnavailableError,
  });
  const stop = async () => {
    await server.stop();
    await rm(configDir, { recursive: true, force: true });
  };
  return { url: server.url, host: server.host, port, pid: server.pid, rootDirectory: options.rootDirectory, output: server.output, stop };
}
