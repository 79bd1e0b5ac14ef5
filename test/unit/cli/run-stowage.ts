/**
 * Runs the real `stowage` bin (the package's `bin` entry, after the build) as a child process,
 * the way a user or a CI job would.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const packageJson = require.resolve('@stowage/cli/package.json');
const STOWAGE_BIN = join(dirname(packageJson), (require(packageJson) as { bin: { stowage: string } }).bin.stowage);

export interface StowageRun {
  code: number | null;
  stdout: string;
  /** stdout as bytes, for binary content (cat). */
  stdoutBytes: Buffer;
  stderr: string;
}

export interface RunOptions {
  /** Bytes for stdin (stdin is closed when none). */
  input?: Buffer | string;
  cwd?: string;
  /** Replaces the variables of the same name; STOWAGE_DRIVER and STOWAGE_PARAM_* are not inherited. */
  env?: NodeJS.ProcessEnv;
}

/** The parent's environment without any STOWAGE_DRIVER / STOWAGE_PARAM_ that would configure the child's driver. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name !== 'STOWAGE_DRIVER' && !name.startsWith('STOWAGE_PARAM_') && name !== 'STOWAGE_CONFORMANCE_PROFILE') env[name] = value;
  }
  return { ...env, ...extra };
}

export function runStowage(args: readonly string[], options: RunOptions = {}): Promise<StowageRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STOWAGE_BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => {
      const bytes = Buffer.concat(stdout);
      resolve({ code, stdout: bytes.toString('utf8'), stdoutBytes: bytes, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Both outputs with the exit code, for assertion messages. */
export function describeRun(run: StowageRun): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout.slice(-4000)}\n--- stderr\n${run.stderr.slice(-4000)}`;
}

/** A temp directory for one suite, removed by the returned cleanup. */
export async function tempDir(label: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `stowage-cli-${label}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
