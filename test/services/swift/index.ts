// A local single-node OpenStack Swift (with s3api) for tests, driven by swift.sh beside this file.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface SwiftService {
  /** Swift v1 auth (tempauth), e.g. http://127.0.0.1:8080/auth/v1.0 */
  authUrl: string;
  /** The proxy, which is also the S3 endpoint (path-style), e.g. http://127.0.0.1:8080 */
  endpoint: string;
  user: 'test:tester';
  key: 'testing';
  /** S3 credentials: tempauth's user and key. */
  accessKeyId: string;
  secretAccessKey: string;
  region: 'us-east-1';
  /** True when this process started the servers (and will stop them when it exits). */
  startedHere: boolean;
}

/** Swift can't be installed or started on this machine; the message says why. */
export class ServiceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnavailableError';
  }
}

// Compiled to build/test/services/swift; the script stays in the source tree.
function findScript(): string {
  const candidates = [
    resolve(__dirname, '../../../../test/services/swift/swift.sh'),
    join(__dirname, 'swift.sh'),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new ServiceUnavailableError(`swift: swift.sh not found (looked at ${candidates.join(', ')})`);
  return found;
}

let starting: Promise<SwiftService> | undefined;
let stopOnExit: (() => void) | undefined;

/**
 * Starts the local Swift once per process (later calls share the result). When this call started the
 * servers they are stopped, by PID, when the process exits; servers that were already running are left alone.
 */
export function startSwift(): Promise<SwiftService> {
  starting ??= launch().catch((err: unknown) => {
    starting = undefined; // let a later call try again
    throw err;
  });
  return starting;
}

/** Stops the servers now if this process started them (otherwise does nothing). */
export function stopSwift(): void {
  if (stopOnExit) {
    process.removeListener('exit', stopOnExit);
    stopOnExit();
    stopOnExit = undefined;
  }
  starting = undefined;
}

async function launch(): Promise<SwiftService> {
  const script = findScript();
  const { code, output } = await run(script, 'start');
  const state = /^STOWAGE_SWIFT_STATE=(\S+)$/m.exec(output)?.[1];
  if (code !== 0 || !state) {
    const tail = output.trim().split('\n').slice(-40).join('\n');
    throw new ServiceUnavailableError(`swift: could not start the local Swift (swift.sh start exited ${code}):\n${tail}`);
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
  const port = process.env.STOWAGE_SWIFT_PORT || '8080';
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    authUrl: `${endpoint}/auth/v1.0`,
    endpoint,
    user: 'test:tester',
    key: 'testing',
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    region: 'us-east-1',
    startedHere,
  };
}

// A signal with no handler kills the process without 'exit' firing. Where nobody else handles it,
// stop the servers and then die of the same signal; runners that handle it (mocha's SIGINT) call
// process.exit, which fires 'exit'.
function stopOnFatalSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      stopSwift();
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
