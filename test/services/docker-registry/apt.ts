/**
 * Installs a Debian package on first use, as the Swift service does: the tests run as root on CI
 * (where .ci/run has usually installed it already); elsewhere a missing program becomes a
 * ServiceUnavailableError saying why, which requireService turns into a skip (or, in CI, a failure).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A test program that cannot be installed or started on this machine; the message says why. */
export class ServiceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnavailableError';
  }
}

const installs = new Map<string, Promise<void>>();

/**
 * Makes sure `program` (an absolute path) exists, installing Debian's `pkg` with apt-get when it
 * does not (`apt-get update` only when the first install attempt fails). Concurrent calls share one install.
 */
export function ensureDebianPackage(pkg: string, program: string): Promise<void> {
  if (existsSync(program)) return Promise.resolve();
  let install = installs.get(pkg);
  if (!install) {
    install = aptInstall(pkg, program).finally(() => installs.delete(pkg));
    installs.set(pkg, install);
  }
  return install;
}

async function aptInstall(pkg: string, program: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new ServiceUnavailableError(`${pkg}: ${program} is missing and only root can apt-get install it`);
  if (!existsSync('/usr/bin/apt-get')) throw new ServiceUnavailableError(`${pkg}: ${program} is missing and there is no apt-get here`);
  const install = ['install', '-y', '--no-install-recommends', pkg];
  let result = await runCommand('apt-get', install);
  if (result.code !== 0) {
    await runCommand('apt-get', ['update']);
    result = await runCommand('apt-get', install);
  }
  if (result.code !== 0 || !existsSync(program)) {
    const tail = result.output.trim().split('\n').slice(-20).join('\n');
    throw new ServiceUnavailableError(`${pkg}: apt-get install exited ${result.code}:\n${tail}`);
  }
}

/** The exit code and combined output of a command (never rejects; a spawn error is code null). */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { DEBIAN_FRONTEND: 'noninteractive', ...env } });
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.on('error', (err) => resolve({ code: null, output: `${output}\n${err.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}
