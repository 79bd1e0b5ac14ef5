import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { makeClient } from './helpers';
import type { OssServerHandle } from '../../../services/oss/server';

const MAIN = resolve(__dirname, '../../../services/oss/main.js');

interface Announcement {
  endpoint: string;
  port: number;
  accessKeyId: string;
  accessKeySecret: string;
  region: string;
  pid: number;
  pidFile: string;
}

describe('oss server: command line (main.js)', function () {
  this.timeout(30_000);
  let child: ChildProcess | undefined;
  let pid: number | undefined;
  let dir: string;

  const killRecorded = () => {
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already exited
    }
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stowage-oss-cli-'));
    process.on('exit', killRecorded);
  });

  after(() => {
    killRecorded();
    process.off('exit', killRecorded);
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its endpoint and credentials, writes a PID file, serves ali-oss, and stops on SIGTERM', async () => {
    const pidFile = join(dir, 'oss.pid');
    child = spawn(
      process.execPath,
      [MAIN, '--port', '0', '--pid-file', pidFile, '--access-key-id', 'CLIKEY', '--access-key-secret', 'cli-secret', '--bucket', 'cli-bucket'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    pid = child.pid;
    const firstLine = await new Promise<string>((resolveLine, reject) => {
      let buffered = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const newline = buffered.indexOf('\n');
        if (newline >= 0) resolveLine(buffered.slice(0, newline));
      });
      child!.once('exit', (code) => reject(new Error(`main.js exited with ${code} before announcing itself`)));
    });
    const announced = JSON.parse(firstLine) as Announcement;
    assert.equal(announced.pid, child.pid);
    assert.equal(announced.pidFile, pidFile);
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(child.pid));
    assert.equal(announced.endpoint, `http://localhost:${announced.port}`);
    assert.equal(announced.accessKeyId, 'CLIKEY');

    const handle = { ...announced, store: undefined, close: async () => {} } as unknown as OssServerHandle;
    for (const version of ['v1', 'v4'] as const) {
      const client = makeClient(handle, { version, bucket: 'cli-bucket' });
      await client.put(`hello-${version}.txt`, Buffer.from('from the cli server'));
      assert.equal((await client.get(`hello-${version}.txt`)).content.toString(), 'from the cli server');
    }

    const exited = once(child, 'exit');
    process.kill(announced.pid, 'SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    pid = undefined;
    assert.equal(existsSync(pidFile), false, 'the PID file is removed on exit');
  });
});
