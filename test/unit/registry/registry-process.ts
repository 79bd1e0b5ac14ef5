/** The registry as its own process, started the way a user starts it: `stowage-registry serve CONFIG.yml`. */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The package's bin, as npm links it. */
const CLI = join(dirname(require.resolve('@stowage/example-registry/package.json')), 'bin', 'stowage-registry.js');
const READY_TIMEOUT_MS = 30_000;

export interface RegistryProcess {
  url: string;
  pid: number;
  /** Everything it logged so far. */
  output(): string;
  /** SIGTERM by PID; resolves with its exit code once it has exited. */
  stop(): Promise<number | null>;
}

/** Writes a config.yml for a filesystem registry on 127.0.0.1 and a free port, logging at info. */
export async function writeFilesystemConfig(path: string, rootdirectory: string): Promise<string> {
  const yaml = ['version: 0.1', 'log:', '  level: info', 'storage:', '  filesystem:', `    rootdirectory: ${JSON.stringify(rootdirectory)}`, 'http:', '  addr: 127.0.0.1:0', ''].join('\n');
  await writeFile(path, yaml);
  return path;
}

/** Starts `node dist/cli.js serve CONFIG` and resolves once it logs the URL it listens on. */
export function startRegistryProcess(configPath: string): Promise<RegistryProcess> {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the registry did not start within ${READY_TIMEOUT_MS / 1000}s:\n${output}`)), READY_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onOutput = (text: string) => {
      output += text;
      const url = /listening url=(\S+)/.exec(output)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve({
        url,
        pid: child.pid!,
        output: () => output,
        stop: async () => {
          child.kill('SIGTERM');
          const code = await exited;
          process.removeListener('exit', killOnExit);
          return code;
        },
      });
    };
    child.stdout!.setEncoding('utf8').on('data', onOutput);
    child.stderr!.setEncoding('utf8').on('data', onOutput);
    void exited.then((code) => fail(new Error(`the registry exited (${code}) before it listened:\n${output}`)));
  });
}
