#!/usr/bin/env node
/** The `stowage` executable: runs the command line and exits with its status. */
import { runCli } from './program';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() }).then(
  (code) => {
    // Drivers keep sockets alive (keep-alive agents); the command is done, so end the process
    // once stdout and stderr are flushed.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  },
  (err: unknown) => {
    process.stderr.write(`stowage: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
