'use strict';
/**
 * Installs the peer libraries of `npm run bench -- --peers` on first use: `npm ci --prefix` this
 * folder, from its own package.json and lockfile (not the root install, as test/services/azurite),
 * once, under a lock directory so that parallel runs do not race. Then checks that OpenDAL's
 * native binding loads here. Anything that stops them from running (no registry, a binding built
 * for a newer glibc) is a PeersUnavailableError saying why.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PEERS_DIR = __dirname;
const INSTALL_TIMEOUT_MS = 10 * 60_000;
const STALE_LOCK_MS = INSTALL_TIMEOUT_MS + 60_000;

class PeersUnavailableError extends Error {
  /** @override */
  get name() {
    return 'PeersUnavailableError';
  }
}

/** The pinned versions, from this folder's package.json. */
function pinnedVersions() {
  return JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'package.json'), 'utf8')).dependencies;
}

function installedVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function isInstalled() {
  return Object.entries(pinnedVersions()).every(([name, version]) => installedVersion(name) === version);
}

/** Output of a child, kept short for error messages. */
function tail(text, lines = 15) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

function run(command, args, timeoutMs, env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: PEERS_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text) => (output += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, output: `${output}\n${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function takeLock(lock) {
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      return;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      let mtime = Date.now();
      try {
        mtime = fs.statSync(lock).mtimeMs;
      } catch {
        // released meanwhile
      }
      if (Date.now() - mtime > STALE_LOCK_MS) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new PeersUnavailableError(`another process has been installing them for too long (${lock})`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function install(log) {
  if (isInstalled()) return;
  const lock = path.join(PEERS_DIR, '.install-lock');
  await takeLock(lock);
  try {
    if (isInstalled()) return; // installed by the lock's previous holder
    log(
      `installing ${Object.entries(pinnedVersions())
        .map(([name, version]) => `${name}@${version}`)
        .join(', ')} into ${PEERS_DIR} (npm ci, once)`,
    );
    const npmCli = process.env.npm_execpath;
    const [command, args] = npmCli && /npm-cli\.js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
    // Under `npm run`, npm passes its own settings down as npm_config_* variables (local_prefix
    // among them, the root of this repository): the install must see none of them, or it would
    // work on the root project instead of this folder.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_(config|package|lifecycle)_/i.test(name)));
    const result = await run(command, [...args, 'ci', '--prefix', PEERS_DIR, '--no-audit', '--no-fund', '--loglevel=error'], INSTALL_TIMEOUT_MS, env);
    if (result.code !== 0) {
      // npm's own lines (code, the failed request, the log's path) without the stack and the error object it dumps.
      const said = result.output
        .split('\n')
        .filter((line) => !/^npm error(\s{2,}.*| \}|\s*)$/.test(line))
        .join('\n');
      throw new PeersUnavailableError(`npm ci in ${PEERS_DIR} failed (exit ${result.code}; no access to the npm registry?):\n${tail(said, 10)}`);
    }
    if (!isInstalled()) throw new PeersUnavailableError(`npm ci in ${PEERS_DIR} did not install ${JSON.stringify(pinnedVersions())}`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** OpenDAL ships its core as a native binding per platform: load it once in a throwaway process, for a clear message when it cannot. */
function checkNativeBinding() {
  const probe = spawnSync(process.execPath, ['-e', "require('opendal')"], { cwd: PEERS_DIR, encoding: 'utf8', timeout: 60_000 });
  if (probe.status !== 0) {
    const reason = /GLIBC_[\d.]+' not found/.exec(probe.stderr ?? '')?.[0] ?? tail(probe.stderr ?? String(probe.error), 8);
    throw new PeersUnavailableError(`OpenDAL's native binding does not load on this machine (${process.platform}-${process.arch}): ${reason}`);
  }
}

/**
 * Installs the peers if needed and checks that they load; rejects with PeersUnavailableError when they cannot run here.
 * @param {(line: string) => void} [log] progress (the install takes a few seconds)
 */
async function ensurePeersInstalled(log = () => undefined) {
  await install(log);
  checkNativeBinding();
}

module.exports = { ensurePeersInstalled, PeersUnavailableError };
