/**
 * The `stowage` command line (commander): every command that needs a driver gets the same driver
 * options, builds its driver through driver-source, and reports errors through errors.ts.
 */
import type { Readable } from 'node:stream';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { registeredDrivers, type StorageDriver } from '@stowage/core';
import { bench } from './commands/bench';
import { conformance } from './commands/conformance';
import {
  catCommand,
  diskUsageCommand,
  listCommand,
  moveCommand,
  purgeUploadsCommand,
  putCommand,
  removeCommand,
  statCommand,
  walkCommand,
} from './commands/operations';
import { verify } from './commands/verify';
import { buildDriver, loadDriverModules, loadFirstPartyDrivers, releaseDriver, resolveDriverSpec, type DriverOptions, type DriverSpec } from './driver-source';
import { describeError, ExitCode, exitCodeFor, ReportedFailure } from './errors';
import { Output, type OutputStreams } from './output';
import { createRedactor, secretValues } from './secrets';

/** What the CLI reads and writes; the bin passes the process's own. */
export interface CliIO extends OutputStreams {
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Options every driver-backed command accepts, besides its own. */
interface CommonOptions extends DriverOptions {
  /** true for JSON on stdout; a file name (bench) to write the JSON there. */
  json?: boolean | string;
  debug?: boolean;
}

/** What a command's action gets: its driver, how it was configured, and where to print. */
export interface CommandContext {
  driver: StorageDriver;
  spec: DriverSpec;
  output: Output;
  io: CliIO;
  /** The command's own options (parsed by commander). */
  opts<T>(): T;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(value);
}

const VERSION = (require('../package.json') as { version: string }).version;

/**
 * Runs the command line `argv` (without `node` and the script) and resolves with the exit status:
 * 0 ok, 1 a failure (an operation error, a failed test, verify problems), 2 a usage mistake.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  // The command being run sets these, so errors are printed the way it was asked for.
  let output = new Output(io, false);
  let debug = false;

  const program = new Command('stowage')
    .description('Run the Stowage conformance suite and benchmarks against a storage driver, and operate on stored data.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(stowage --help, or stowage COMMAND --help, for usage)');

  /** A command that needs a driver: the driver options, --json and --debug, and the driver's lifecycle. */
  const driverCommand = (name: string, summary: string, jsonHelp = 'print results as JSON') =>
    program
      .command(name)
      .description(summary)
      .option('-c, --config <file>', 'a distribution config.yml: its storage: section configures the driver')
      .option('--storage-key <name>', 'the driver to use when storage: names more than one')
      .option('-d, --driver <name>', 'the driver by name (filesystem, inmemory, s3, azure, oss, swift, or one loaded with --require)')
      .option('-p, --param <key=value>', "a driver parameter, as in config.yml's storage: section (repeatable)", collect, [])
      .option('-r, --require <module>', 'load a module that registers a third-party driver (repeatable)', collect, [])
      .option(jsonHelp.includes('FILE') ? '--json [file]' : '--json', jsonHelp)
      .option('--debug', 'print stack traces with errors');

  const withDriver =
    <A extends unknown[]>(action: (ctx: CommandContext, ...args: A) => Promise<void>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const options = command.opts<CommonOptions>();
      debug = options.debug === true;
      output = new Output(io, options.json === true);
      loadDriverModules(options.require ?? [], io.cwd);
      const spec = resolveDriverSpec(options, io.env);
      output.setRedactor(createRedactor(secretValues(spec.parameters)));
      const driver = buildDriver(spec);
      try {
        await action({ driver, spec, output, io, opts: <T>() => command.opts() as T }, ...(args.slice(0, -2) as A));
      } finally {
        releaseDriver(driver);
      }
    };

  driverCommand('ls', 'list the direct children of a directory')
    .argument('[path]', 'a directory', '/')
    .action(withDriver((ctx, path: string) => listCommand(ctx.driver, path, ctx.output)));
  driverCommand('stat', 'size, type and modification time of a path')
    .argument('<path>')
    .action(withDriver((ctx, path: string) => statCommand(ctx.driver, path, ctx.output)));
  driverCommand('cat', "write a file's content to stdout")
    .argument('<path>')
    .option('--offset <bytes>', 'start at this byte offset', nonNegativeInteger, 0)
    .action(withDriver((ctx, path: string) => catCommand(ctx.driver, path, ctx.opts<{ offset: number }>().offset, ctx.output)));
  driverCommand('put', 'store a file (or stdin) at a path, streamed through the resumable writer and committed')
    .argument('<path>', 'the destination in the storage')
    .argument('[file]', 'a local file; - or nothing for stdin')
    .action(withDriver((ctx, path: string, file: string | undefined) => putCommand(ctx.driver, path, file, ctx.io.stdin, ctx.output)));
  driverCommand('rm', 'delete a file, or a directory and everything below it')
    .argument('<path>')
    .action(withDriver((ctx, path: string) => removeCommand(ctx.driver, path, ctx.output)));
  driverCommand('mv', 'move a file (overwrites the destination)')
    .argument('<source>')
    .argument('<dest>')
    .action(withDriver((ctx, source: string, dest: string) => moveCommand(ctx.driver, source, dest, ctx.output)));
  driverCommand('du', 'files and bytes below a path, per direct child and in total')
    .argument('[path]', 'a directory or file', '/')
    .action(withDriver((ctx, path: string) => diskUsageCommand(ctx.driver, path, ctx.output)));
  driverCommand('walk', 'every file and directory below a path, depth first in lexical order')
    .argument('[path]', 'where to start', '/')
    .option('--start-after <path>', 'skip everything up to and including this path in walk order')
    .action(withDriver((ctx, path: string) => walkCommand(ctx.driver, path, ctx.opts<{ startAfter?: string }>().startAfter, ctx.output)));
  driverCommand('purge-uploads', 'remove unfinished uploads last written longer ago than --older-than')
    .requiredOption('--older-than <age>', 'e.g. 7d, 12h, 1h30m')
    .action(withDriver((ctx) => purgeUploadsCommand(ctx.driver, ctx.opts<{ olderThan: string }>().olderThan, ctx.output)));
  driverCommand('verify', "check a registry's storage: blob digests, links, manifests")
    .option('--root <path>', 'the registry root in the storage', '/docker/registry/v2')
    .option('--concurrency <n>', 'blobs hashed at once', nonNegativeInteger, 4)
    .action(withDriver((ctx) => verify(ctx)));
  driverCommand('conformance', 'run the conformance suite against the driver')
    .addOption(new Option('--profile <name>', 'size profile (default: $STOWAGE_CONFORMANCE_PROFILE, else standard)').choices(['quick', 'standard', 'full']))
    .option('--grep <pattern>', 'only tests whose title matches this regular expression')
    .option('--report <format-and-file...>', 'also write a report: json FILE, junit FILE or html FILE (repeatable)', [])
    .option('--redirect <mode>', 'whether the driver returns redirect URLs: auto (probe it), on, off', 'auto')
    .option('--bail', 'stop at the first failure')
    .action(withDriver((ctx) => conformance(ctx)));
  driverCommand('bench', 'benchmark the driver against a raw baseline', 'print the result as JSON on stdout, or with FILE write it there')
    .option('--only <names>', 'only these benchmarks, comma-separated (* wildcards; memory = the memory check)')
    .option('--quick', 'a short run: fewer rounds, 64MiB large size')
    .option('--large <size>', 'size of the large PutGet/Stream benchmarks (default 1GiB, 64MiB with --quick)')
    .option('--rounds <n>', 'measured rounds per benchmark', nonNegativeInteger)
    .option('--memory-size <size>', 'bytes streamed by the memory check (0 skips it)')
    .addOption(
      new Option(
        '--baseline <kind>',
        'what the driver is compared with: node-fs (a temp dir), buffer (memory copies); default node-fs for filesystem, buffer otherwise',
      ).choices(['node-fs', 'buffer']),
    )
    .option('--html <file>', 'write an HTML report with charts to this file')
    .option('--strict', 'exit 1 when a target ratio or the memory check fails')
    .action(withDriver((ctx) => bench(ctx)));
  program
    .command('drivers')
    .description('list the registered drivers (first-party, and those loaded with --require)')
    .option('-r, --require <module>', 'load a module that registers a third-party driver (repeatable)', collect, [])
    .action((options: { require: string[] }) => {
      loadFirstPartyDrivers();
      loadDriverModules(options.require, io.cwd);
      for (const name of registeredDrivers()) io.stdout.write(`${name}\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end parsing through exitOverride too, with code 0.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (err instanceof ReportedFailure) return ExitCode.Failure;
    output.note(`stowage: ${describeError(err, (text) => output.redact(text), debug)}`);
    return exitCodeFor(err);
  }
}
