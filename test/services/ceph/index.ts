// A local single-node Ceph cluster with a RADOS Gateway (S3 and Swift APIs) for tests, driven by
// ceph.sh beside this file.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface CephService {
  /** radosgw: the S3 endpoint (path-style), e.g. http://127.0.0.1:7480 */
  endpoint: string;
  /** Swift v1 auth of radosgw, e.g. http://127.0.0.1:7480/auth/1.0 (storage URL .../swift/v1) */
  authUrl: string;
  /** The Swift subuser and its key. */
  user: 'tester:swift';
  key: 'stowage-swift-key';
  /** S3 credentials of the same user. */
  accessKeyId: 'stowage-tester';
  secretAccessKey: 'stowage-tester-secret';
  /** radosgw takes any region in a signature. */
  region: 'us-east-1';
  /** True when this process started the cluster (and will stop it when it exits). */
  startedHere: boolean;
}

/** Ceph can't be installed or started on this machine; the message says why. */
export class ServiceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnavailableError';
  }
}

// Compiled to build/test/services/ceph; the script stays in the source tree.
function findScript(): string {
  const candidates = [resolve(__dirname, '../../../../test/services/ceph/ceph.sh'), join(__dirname, 'ceph.sh')];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new ServiceUnavailableError(`ceph: ceph.sh not found (looked at ${candidates.join(', ')})`);
  return found;
}

let starting: Promise<CephService> | undefined;
let stopOnExit: (() => void) | undefined;

/**
 * Starts the local Ceph cluster once per process (later calls share the result). When this call
 * started it, it is stopped, by PID, when the process exits; a cluster that was already running
 * (started from the same state dir) is left alone.
 */
export function startCeph(): Promise<CephService> {
  starting ??= launch().catch((err: unknown) => {
    starting = undefined; // let a later call try again
    throw err;
  });
  return starting;
}

/** Stops the cluster now if this process started it (otherwise does nothing). */
export function stopCeph(): void {
  if (stopOnExit) {
    process.removeListener('exit', stopOnExit);
    stopOnExit();
    stopOnExit = undefined;
  }
  starting = undefined;
}

async function launch(): Promise<CephService> {
  const script = findScript();
  const { code, output } = await run(script, 'start');
  const state = /^STOWAGE_CEPH_STATE=(\S+)$/m.exec(output)?.[1];
  if (code !== 0 || !state) {
    // Started, then failed (say, a later step of the script): stop what it started.
    if (state === 'started') spawnSync('bash', [script, 'stop'], { stdio: 'ignore', timeout: 30_000 });
    const tail = output.trim().split('\n').slice(-40).join('\n');
    // As for the local Swift: skipped with this reason, or failed under STOWAGE_REQUIRE_SERVICES=1.
    throw new ServiceUnavailableError(`ceph: could not start the local Ceph cluster (ceph.sh start exited ${code}):\n${tail}`);
  }
  const startedHere = state === 'started';
  if (startedHere) {
    // 'exit' handlers must be synchronous: stop by PID files with spawnSync.
    stopOnExit = () => {
      spawnSync('bash', [script, 'stop'], { stdio: 'ignore', timeout: 30_000 });
    };
    process.on('exit', stopOnExit);
    stopOnFatalSignals();
  }
  const endpoint = `http://127.0.0.1:${process.env.STOWAGE_CEPH_PORT || '7480'}`;
  return {
    endpoint,
    authUrl: `${endpoint}/auth/1.0`,
    user: 'tester:swift',
    key: 'stowage-swift-key',
    accessKeyId: 'stowage-tester',
    secretAccessKey: 'stowage-tester-secret',
    region: 'us-east-1',
    startedHere,
  };
}

// A signal with no handler kills the process without 'exit' firing. Where nobody else handles it,
// stop the cluster and then die of the same signal; runners that handle it (mocha's SIGINT) call
// process.exit, which fires 'exit'.
function stopOnFatalSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      stopCeph();
      process.kill(process.pid, signal);
    });
  }
}

function run(script: string, command: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    let output = '';
    const child = spawn('bash', [script, command], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err) => resolvePromise({ code: null, output: `${output}\n${err.message}` }));
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}
