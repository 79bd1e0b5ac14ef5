/**
 * A local test server driven by a shell script beside its TS helper (`swift.sh`, `ceph.sh`):
 * `SCRIPT start` starts it (or finds it running) and prints `STOWAGE_<NAME>_STATE=started` or
 * `=already-running`; `SCRIPT stop` stops it by PID files. One start per process, shared by every
 * caller; what this process started is stopped when it exits (also on SIGINT/SIGTERM/SIGHUP where
 * nobody else handles them), what was already running is left alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A test server can't be installed or started on this machine; the message says why. */
export class ServiceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnavailableError';
  }
}

export interface ScriptServiceOptions {
  /** The service's folder under test/services and the script's stem: 'swift' runs swift/swift.sh. */
  name: string;
  /** How messages name it: 'the local Swift'. */
  title: string;
  /** Stop what the script started when `start` fails after starting something (a later step failed). */
  stopAfterFailedStart?: boolean;
}

export class ScriptService {
  private starting: Promise<boolean> | undefined;
  private stopOnExit: (() => void) | undefined;

  constructor(private readonly options: ScriptServiceOptions) {}

  /** Starts it once per process; resolves with whether this call started it (false: already running). */
  start(): Promise<boolean> {
    this.starting ??= this.launch().catch((err: unknown) => {
      this.starting = undefined; // let a later call try again
      throw err;
    });
    return this.starting;
  }

  /** Stops it now if this process started it (otherwise does nothing). */
  stop(): void {
    if (this.stopOnExit) {
      process.removeListener('exit', this.stopOnExit);
      this.stopOnExit();
      this.stopOnExit = undefined;
    }
    this.starting = undefined;
  }

  /** The script, found in the source tree (TS helpers are compiled to build/test/services/NAME). */
  script(): string {
    const { name } = this.options;
    const candidates = [resolve(__dirname, `../../../test/services/${name}/${name}.sh`), join(__dirname, name, `${name}.sh`)];
    const found = candidates.find((candidate) => existsSync(candidate));
    if (!found) throw new ServiceUnavailableError(`${name}: ${name}.sh not found (looked at ${candidates.join(', ')})`);
    return found;
  }

  private async launch(): Promise<boolean> {
    const { name, title } = this.options;
    const script = this.script();
    const { code, output } = await runScript(script, 'start');
    const state = new RegExp(`^STOWAGE_${name.toUpperCase()}_STATE=(\\S+)$`, 'm').exec(output)?.[1];
    if (code !== 0 || !state) {
      if (state === 'started' && this.options.stopAfterFailedStart) spawnSync('bash', [script, 'stop'], { stdio: 'ignore', timeout: 30_000 });
      const tail = output.trim().split('\n').slice(-40).join('\n');
      throw new ServiceUnavailableError(`${name}: could not start ${title} (${name}.sh start exited ${code}):\n${tail}`);
    }
    const startedHere = state === 'started';
    if (startedHere) {
      // 'exit' handlers must be synchronous: stop by PID files with spawnSync.
      this.stopOnExit = () => {
        spawnSync('bash', [script, 'stop'], { stdio: 'ignore', timeout: 30_000 });
      };
      process.on('exit', this.stopOnExit);
      this.stopOnFatalSignals();
    }
    return startedHere;
  }

  // A signal with no handler kills the process without 'exit' firing. Where nobody else handles it,
  // stop the server and then die of the same signal; runners that handle it (mocha's SIGINT) call
  // process.exit, which fires 'exit'.
  private stopOnFatalSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      if (process.listenerCount(signal) > 0) continue;
      process.once(signal, () => {
        this.stop();
        process.kill(process.pid, signal);
      });
    }
  }
}

/** Runs `bash SCRIPT COMMAND`, collecting stdout and stderr together. */
function runScript(script: string, command: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    let output = '';
    const child = spawn('bash', [script, command], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err) => resolvePromise({ code: null, output: `${output}\n${err.message}` }));
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}
