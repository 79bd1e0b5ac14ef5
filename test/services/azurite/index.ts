/**
 * Azurite, Microsoft's Azure Storage emulator, as a local test server for @stowage/azure.
 *
 * It is large (hundreds of MB installed), so it is not part of the root install: the first
 * startAzurite() runs `npm ci` in this folder (its own package.json and lockfile pin azurite
 * 3.35.0, the last release that runs on Node 20). It then starts the blob service only, on
 * 127.0.0.1 and a free port, with telemetry off, in-memory storage (or a temp directory) and
 * `--loose --skipApiVersionCheck` (the SDK may be newer than the emulator). The server is stopped
 * by PID when the last user calls stopAzurite(), when this process exits, and by itself when this
 * process dies (it exits when its stdin, a pipe from here, closes).
 *
 * When it cannot run (no network for the install, a crash at start), startAzurite() rejects with
 * a ServiceUnavailableError saying why, so that tests can print the reason and skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** @public read by scripts/bench/azure.js from build/ */
export const AZURITE_VERSION = '3.35.0';
/** Azurite's well-known development account (public, the same in every Azurite). */
const DEV_ACCOUNT_NAME = 'devstoreaccount1';
const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Where Azurite keeps blobs: in this process's RAM (default) or in a temp directory. */
export type AzuritePersistence = 'memory' | 'disk';
/** Set to `disk` to make the tests' Azurite keep blobs in a temp directory instead of RAM. */
const PERSISTENCE_ENV_VAR = 'STOWAGE_AZURITE_PERSISTENCE';

const READY_TIMEOUT_MS = 60_000;
const INSTALL_TIMEOUT_MS = 10 * 60_000;
const STALE_LOCK_MS = INSTALL_TIMEOUT_MS + 60_000;

class ServiceUnavailableError extends Error {
  constructor(
    readonly service: string,
    readonly reason: string,
  ) {
    super(`${service} is not available: ${reason}`);
  }
  override get name(): string {
    return 'ServiceUnavailableError';
  }
}

export interface AzuriteInstance {
  /** The blob endpoint, account included: `http://127.0.0.1:PORT/devstoreaccount1`. */
  serviceUrl: string;
  accountName: string;
  accountKey: string;
  connectionString: string;
  port: number;
  pid: number;
  persistence: AzuritePersistence;
}

interface Running {
  instance: AzuriteInstance;
  child: ChildProcess;
  location: string;
}

let starting: Promise<Running> | undefined;
let users = 0;

/** This folder in the source tree (the compiled module runs from build/test/services/azurite). */
function serviceDir(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'test', 'services', 'azurite');
    if (existsSync(join(candidate, 'package-lock.json'))) return candidate;
    if (dirname(dir) === dir) throw new ServiceUnavailableError('Azurite', `cannot find test/services/azurite above ${__dirname}`);
  }
}

function installedVersion(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', 'azurite', 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Output of a child, kept short for error messages. */
function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** `npm ci` in the service folder, once, under a lock directory so that parallel test processes do not race. */
async function install(dir: string): Promise<void> {
  if (installedVersion(dir) === AZURITE_VERSION) return;
  const lock = join(dir, '.install-lock');
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if (age > STALE_LOCK_MS) await rmdir(lock).catch(() => undefined);
      else if (Date.now() > deadline) throw new ServiceUnavailableError('Azurite', `another process has been installing it for too long (${lock})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (installedVersion(dir) === AZURITE_VERSION) return; // installed by the lock's previous holder
    const npmCli = process.env.npm_execpath;
    const [command, args] = npmCli && /npm-cli\.js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
    // Under `npm test`, npm passes its own settings down as npm_config_* variables (local_prefix
    // among them, the root of this repository): the install must see none of them, or it would
    // work on the root project instead of this folder.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_(config|package|lifecycle)_/i.test(name)));
    const result = await run(command, [...args, 'ci', '--no-audit', '--no-fund', '--loglevel=error'], dir, INSTALL_TIMEOUT_MS, env);
    if (result.code !== 0) throw new ServiceUnavailableError('Azurite', `npm ci in ${dir} failed (exit ${result.code}):\n${tail(result.output)}`);
    if (installedVersion(dir) !== AZURITE_VERSION) throw new ServiceUnavailableError('Azurite', `npm ci in ${dir} did not install azurite ${AZURITE_VERSION}`);
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

function run(command: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (output += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (output += t));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, output: `${output}\n${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

/**
 * Runs Azurite's blob entry point inside a process that exits when its stdin closes (this process
 * died), removing its working directory (the temp directory) on the way out.
 */
const LAUNCHER = `
const orphaned = () => {
  try { require('node:fs').rmSync(process.cwd(), { recursive: true, force: true }); } catch {}
  process.exit(0);
};
process.stdin.on('end', orphaned);
process.stdin.on('error', orphaned);
process.stdin.resume();
const main = process.argv[1];
process.argv = [process.argv[0], main, ...process.argv.slice(2)];
require(main);
`;

function killNow(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function launch(persistence: AzuritePersistence): Promise<Running> {
  const dir = serviceDir();
  await install(dir);
  const main = join(dir, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  const location = await mkdtemp(join(tmpdir(), 'stowage-azurite-'));
  const args = [
    '-e',
    LAUNCHER,
    main,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    '0',
    '--disableTelemetry',
    '--loose',
    '--skipApiVersionCheck',
    '--silent',
    // Azurite refuses --location together with --inMemoryPersistence; in memory it runs in the temp directory.
    ...(persistence === 'memory' ? ['--inMemoryPersistence'] : ['--location', location]),
  ];
  const child = spawn(process.execPath, args, { cwd: location, stdio: ['pipe', 'pipe', 'pipe'] });
  const exitHook = () => {
    killNow(child);
    rmSync(location, { recursive: true, force: true });
  };
  process.once('exit', exitHook);
  child.once('exit', () => process.removeListener('exit', exitHook));

  let output = '';
  const port = await new Promise<number>((resolvePromise, reject) => {
    const timer = setTimeout(() => fail(`it did not report listening within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    function fail(reason: string): void {
      clearTimeout(timer);
      killNow(child);
      reject(new ServiceUnavailableError('Azurite', `${reason}${output ? `; its output:\n${tail(output)}` : ''}`));
    }
    const onOutput = (text: string) => {
      output += text;
      const m = /successfully listens on https?:\/\/[^:\s]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolvePromise(Number(m[1]));
      }
    };
    child.stdout.setEncoding('utf8').on('data', onOutput);
    child.stderr.setEncoding('utf8').on('data', onOutput);
    child.once('error', (err) => fail(`cannot start node: ${err.message}`));
    child.once('exit', (code, signal) => fail(`it exited (${signal ?? `code ${code}`}) before listening`));
  });
  // Keep draining its output (a full pipe would block it), but let this process exit without waiting for it.
  child.stdout.removeAllListeners('data').resume();
  child.stderr.removeAllListeners('data').resume();
  for (const stream of [child.stdin, child.stdout, child.stderr] as Array<{ unref?: () => void } | null>) stream?.unref?.();
  child.unref();

  const serviceUrl = `http://127.0.0.1:${port}/${DEV_ACCOUNT_NAME}`;
  return {
    child,
    location,
    instance: {
      serviceUrl,
      accountName: DEV_ACCOUNT_NAME,
      accountKey: DEV_ACCOUNT_KEY,
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${serviceUrl};`,
      port,
      pid: child.pid!,
      persistence,
    },
  };
}

/**
 * Starts Azurite, or returns the one already running in this process (each call counts as a
 * user; pair it with stopAzurite()). Rejects with ServiceUnavailableError when it cannot run.
 */
export async function startAzurite(options: { persistence?: AzuritePersistence } = {}): Promise<AzuriteInstance> {
  const fromEnv = process.env[PERSISTENCE_ENV_VAR];
  const persistence = options.persistence ?? (fromEnv === 'disk' ? 'disk' : 'memory');
  users++;
  try {
    if (starting) {
      const running = await starting;
      if (running.child.exitCode === null && running.child.signalCode === null) return running.instance;
      starting = undefined; // it died: start a new one
    }
    starting = launch(persistence);
    starting.catch(() => (starting = undefined));
    return (await starting).instance;
  } catch (err) {
    users--;
    if (err instanceof ServiceUnavailableError) throw err;
    throw new ServiceUnavailableError('Azurite', err instanceof Error ? err.message : String(err));
  }
}

/** One user is done; the last one stops the server (by PID) and removes its temp directory. */
export async function stopAzurite(): Promise<void> {
  if (users > 0) users--;
  if (users > 0 || !starting) return;
  const pending = starting;
  starting = undefined;
  let running: Running;
  try {
    running = await pending;
  } catch {
    return;
  }
  const exited = new Promise<void>((resolvePromise) => {
    if (running.child.exitCode !== null || running.child.signalCode !== null) resolvePromise();
    else running.child.once('exit', () => resolvePromise());
  });
  // Referenced again, so that this process waits for the exit instead of ending before it.
  running.child.ref();
  killNow(running.child);
  await exited;
  await rm(running.location, { recursive: true, force: true });
}
