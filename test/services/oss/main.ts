/**
 * Runs the local OSS server as its own process:
 *
 *   node build/test/services/oss/main.js [--port N] [--pid-file PATH] [--access-key-id ID]
 *     [--access-key-secret SECRET] [--sts-token TOKEN] [--region oss-cn-hangzhou] [--bucket NAME]...
 *
 * Prints one JSON line (endpoint, credentials, region, pid, pidFile) once it listens, writes its PID to
 * the PID file (default: $TMPDIR/stowage-oss-PORT.pid), and on SIGINT/SIGTERM closes and removes it.
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOssServer, type OssServerOptions } from './server';

interface Cli extends OssServerOptions {
  pidFile?: string;
}

const FLAGS: Record<string, keyof Cli> = {
  '--port': 'port',
  '--pid-file': 'pidFile',
  '--access-key-id': 'accessKeyId',
  '--access-key-secret': 'accessKeySecret',
  '--sts-token': 'stsToken',
  '--region': 'region',
};

function parseArgs(argv: string[]): Cli {
  const cli: Cli = {};
  const buckets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(
        'usage: main.js [--port N] [--pid-file PATH] [--access-key-id ID] [--access-key-secret S] [--sts-token T] [--region R] [--bucket NAME]...\n',
      );
      process.exit(0);
    }
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === '--bucket') {
      buckets.push(value);
      continue;
    }
    const name = FLAGS[flag];
    if (!name) throw new Error(`unknown option ${flag}`);
    if (name === 'port') {
      if (!/^\d+$/.test(value)) throw new Error(`--port needs a number, got ${value}`);
      cli.port = Number(value);
    } else {
      (cli as Record<string, unknown>)[name] = value;
    }
  }
  if (buckets.length > 0) cli.buckets = buckets;
  return cli;
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  const server = await startOssServer(cli);
  const pidFile = cli.pidFile ?? join(tmpdir(), `stowage-oss-${server.port}.pid`);
  writeFileSync(pidFile, `${process.pid}\n`);
  const stop = () => {
    try {
      unlinkSync(pidFile);
    } catch {
      // already gone
    }
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.write(
    `${JSON.stringify({
      endpoint: server.endpoint,
      port: server.port,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      ...(server.stsToken === undefined ? {} : { stsToken: server.stsToken }),
      region: server.region,
      pid: process.pid,
      pidFile,
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`oss server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
