/**
 * One way to run a registry server as a child process for tests and benchmarks, whichever registry
 * it is (docker-registry 2.8.2, or this project's `stowage-registry serve`): spawn it, keep what it
 * logs, wait until `GET /v2/` answers, kill it if this process exits first, and stop it by PID.
 */
import { spawn } from 'node:child_process';

const DEFAULT_READY_TIMEOUT_MS = 30_000;

export interface RegistryServerLaunch {
  /** For messages: "docker-registry", "stowage-registry". */
  name: string;
  command: string;
  args: readonly string[];
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /**
   * Where it listens: a port chosen beforehand, or a pattern whose first group finds the URL in its
   * output (for a server started on port 0 that logs where it listens).
   */
  listen: { port: number } | { urlPattern: RegExp };
  readyTimeoutMs?: number;
  /** The error thrown when it exits or does not answer in time (default Error). */
  errorClass?: new (message: string) => Error;
}

/** A running registry server. */
export interface RegistryServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the host part of a skopeo `docker://` reference. */
  host: string;
  port: number;
  pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  /** SIGTERM by PID; resolves with its exit code (null after a signal) once it has exited. */
  stop: () => Promise<number | null>;
}

/** Starts the server and resolves once `GET /v2/` answers 200 or 401 (ready, with or without auth). */
export async function launchRegistryServer(launch: RegistryServerLaunch): Promise<RegistryServer> {
  const Failure = launch.errorClass ?? Error;
  const child = spawn(launch.command, [...launch.args], { stdio: ['ignore', 'pipe', 'pipe'], env: launch.env ?? process.env });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  // 'error' (say, the command does not exist) is followed by 'close': the wait below reports it.
  child.once('error', (err) => (output += `\n${err.message}`));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const stop = async (): Promise<number | null> => {
    process.removeListener('exit', killOnExit);
    if (exitCode === undefined) child.kill('SIGTERM');
    return exited;
  };
  const tail = () => output.trim().slice(-2000);
  const timeoutMs = launch.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  try {
    let url = 'port' in launch.listen ? `http://127.0.0.1:${launch.listen.port}` : undefined;
    for (;;) {
      if (exitCode !== undefined) throw new Failure(`${launch.name} exited (${exitCode ?? child.signalCode}) before it answered:\n${tail()}`);
      if (url === undefined && 'urlPattern' in launch.listen) url = launch.listen.urlPattern.exec(output)?.[1];
      if (url !== undefined && (await answers(url))) {
        const port = Number(new URL(url).port);
        return { url, host: `127.0.0.1:${port}`, port, pid: child.pid!, output: () => output, stop };
      }
      if (Date.now() > deadline)
        throw new Failure(`${launch.name} did not answer GET ${url ?? '(no URL logged yet)'}/v2/ within ${timeoutMs / 1000}s:\n${tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v2/`);
    await response.arrayBuffer();
    return response.status === 200 || response.status === 401;
  } catch {
    return false; // not listening yet
  }
}
