/**
 * `stowage bench`: @stowage/conformance's benchmarks against the configured driver, next to a raw
 * baseline measured in the same run, as a table, JSON and an HTML report with charts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { bufferBaseline, formatReport, nodeFsBaseline, parseSize, runBenchmarks, type Baseline } from '@stowage/conformance/bench';
import { benchHtml } from '../bench/html-report';
import { ReportedFailure, UsageError } from '../errors';
import type { CommandContext } from '../program';

interface BenchCommandOptions {
  only?: string;
  quick?: boolean;
  large?: string;
  rounds?: number;
  memorySize?: string;
  baseline?: 'node-fs' | 'buffer';
  html?: string;
  json?: boolean | string;
  strict?: boolean;
}

function sizeOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSize(value);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
}

/**
 * A GC the memory check runs before each RSS baseline; without --expose-gc on the command line,
 * V8 can still be asked for one at run time.
 */
function collectGarbage(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

interface BaselineSetup {
  baseline: Baseline;
  describe: string;
  cleanUp(): Promise<void>;
}

/** node-fs: plain Node fs in a temp dir, durable (fsync + rename) when the driver fsyncs; buffer: copies in memory. */
async function makeBaseline(kind: 'node-fs' | 'buffer', ctx: CommandContext): Promise<BaselineSetup> {
  if (kind === 'buffer') return { baseline: bufferBaseline(), describe: 'Buffer copies in memory', cleanUp: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'stowage-bench-baseline-'));
  const durable = (ctx.driver as { syncOnCommit?: boolean }).syncOnCommit !== false;
  return {
    baseline: nodeFsBaseline(dir, { durable }),
    describe: `plain Node fs in ${dir} (fsync ${durable ? 'on' : 'off'})`,
    cleanUp: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function bench(ctx: CommandContext): Promise<void> {
  const { driver, spec, output } = ctx;
  const options = ctx.opts<BenchCommandOptions>();
  const largeSize = sizeOption('--large', options.large);
  const memorySize = sizeOption('--memory-size', options.memorySize);
  const only = options.only
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const jsonToStdout = options.json === true;
  const jsonFile = typeof options.json === 'string' ? options.json : undefined;

  const setup = await makeBaseline(options.baseline ?? (spec.driver === 'filesystem' ? 'node-fs' : 'buffer'), ctx);
  output.note(`bench: driver ${spec.driver} (from ${spec.source}) against ${setup.describe}`);
  let result;
  try {
    result = await runBenchmarks(driver, {
      baseline: setup.baseline,
      quick: options.quick === true,
      ...(largeSize !== undefined ? { largeSize } : {}),
      ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
      ...(only ? { only } : {}),
      memory: memorySize === 0 ? false : { ...(memorySize !== undefined ? { size: memorySize } : {}), contentInProcess: spec.driver === 'inmemory' },
      output: null,
      log: (line) => output.note(line),
      gc: collectGarbage(),
    });
  } catch (err) {
    // runBenchmarks checks its options (an --only that matches nothing) before any work.
    if ((err instanceof RangeError || err instanceof TypeError) && err.message.startsWith('runBenchmarks: '))
      throw new UsageError(err.message.slice('runBenchmarks: '.length));
    throw err;
  } finally {
    await setup.cleanUp();
  }

  const json = JSON.stringify(result, null, 2);
  if (jsonFile !== undefined) await writeFile(jsonFile, `${json}\n`);
  if (options.html !== undefined) await writeFile(options.html, benchHtml(result));
  if (jsonToStdout) output.line(json);
  else for (const line of formatReport(result).split('\n')) output.line(line);
  if (jsonFile !== undefined) output.note(`bench: JSON written to ${jsonFile}`);
  if (options.html !== undefined) output.note(`bench: HTML report written to ${options.html}`);
  if (options.strict === true && !result.passed) throw new ReportedFailure();
}
