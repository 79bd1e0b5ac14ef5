import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver, type FilesystemDriverOptions } from '@stowage/filesystem';

import { PATTERN_PRELUDE } from '../../helpers/child-process';

export { pattern, sha256 } from '../../helpers/child-process';

/** Where the built driver lives, for child processes that must load the very same code. */
const DRIVER_MODULE = require.resolve('@stowage/filesystem');

/** A fresh temp directory per test, removed afterwards (also when the test fails). */
export function useTempRoot(): { readonly root: string; driver(options?: FilesystemDriverOptions): FilesystemDriver } {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-fs-unit-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  return {
    get root() {
      return root;
    },
    driver(options: FilesystemDriverOptions = {}) {
      return new FilesystemDriver({ rootDirectory: root, syncOnCommit: false, ...options });
    },
  };
}

export const CHILD_PRELUDE = `${PATTERN_PRELUDE}
const { FilesystemDriver } = require(${JSON.stringify(DRIVER_MODULE)});
// Reads the one line the parent sends (stdin is only opened by children that ask).
async function nextLine() {
  for await (const line of require('node:readline').createInterface({ input: process.stdin })) return line;
  return undefined;
}
`;

export interface ChildRun {
  /** Resolves with each line the child prints, as it prints it. */
  lines: AsyncIterable<string>;
  kill(signal: NodeJS.Signals): void;
  /** Writes one line to the child's stdin, then closes it. */
  send(line: string): void;
  /** Resolves with the exit code (null when killed) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Runs `node [nodeOptions] -e script` and streams its stdout line by line. */
export function runChild(script: string, nodeOptions: string[] = []): ChildRun {
  const child = spawn(process.execPath, [...nodeOptions, '-e', CHILD_PRELUDE + script], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => undefined); // the child may be gone (killed) before it reads
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  async function* lines(): AsyncGenerator<string> {
    let pending = '';
    for await (const chunk of child.stdout.setEncoding('utf8')) {
      pending += chunk as string;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        yield pending.slice(0, newline);
        pending = pending.slice(newline + 1);
      }
    }
    if (pending !== '') yield pending;
  }
  return { lines: lines(), kill: (signal) => child.kill(signal), send: (line) => child.stdin.end(`${line}\n`), exited };
}
