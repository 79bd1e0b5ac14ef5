/**
 * Runs the conformance suite from code, without a mocha command line or a test file: the
 * `stowage conformance` command uses it, and so can any tool that builds its driver at run time.
 */
import MochaModule = require('mocha');
import type { StorageDriver } from '@stowage/core';
import type { ConformanceOptions } from './options';
import { describeConformance } from './suite';

/** What to run and how; everything but `name` and `createDriver` is optional. */
export interface ConformanceRunOptions {
  /** Shown in the suite title, e.g. the driver's name. */
  name: string;
  /** Builds the driver under test (once, in the suite's before() hook). */
  createDriver: () => StorageDriver | Promise<StorageDriver>;
  /** The suite's options: profile, capabilities, newInstance, leftovers, ... */
  conformance?: ConformanceOptions;
  /** Only tests whose full title matches (a RegExp, or a string matched as a substring). */
  grep?: string | RegExp;
  /**
   * The mocha reporter: a reporter constructor, or a built-in's name. Default: a silent one, for
   * callers that listen to the runner themselves (see `onRunner`).
   */
  reporter?: string | MochaModule.ReporterConstructor;
  reporterOptions?: Record<string, unknown>;
  /** Called with the runner before the first test starts, to attach listeners or more reporters. */
  onRunner?: (runner: MochaModule.Runner) => void;
  /** Stop at the first failure. */
  bail?: boolean;
}

/** The counts at the end of a run. */
export interface ConformanceRunResult {
  passed: number;
  failed: number;
  skipped: number;
  /** Tests that were to run (after `grep`). */
  total: number;
  durationMs: number;
}

// mocha 12 is an ES module: required from CommonJS, its constructor is the default export
// (its classes, Runner and reporters, are also named exports, which is all the reporter needs).
const Mocha: typeof MochaModule = (MochaModule as unknown as { default?: typeof MochaModule }).default ?? MochaModule;

/** A reporter that prints nothing: the caller observes the runner through `onRunner`. */
class SilentReporter extends MochaModule.reporters.Base {}

/**
 * Registers the suite in a fresh Mocha instance and runs it. Resolves when the run ends (failed
 * tests are counted, not thrown); rejects only when the suite cannot be set up at all, e.g. for
 * an unknown profile. Uses mocha's BDD globals (`describe`, `it`, ...) while registering, so run
 * one at a time per process.
 */
export function runConformance(options: ConformanceRunOptions): Promise<ConformanceRunResult> {
  const mocha = new Mocha({
    reporter: options.reporter ?? SilentReporter,
    ...(options.reporterOptions ? { reporterOptions: options.reporterOptions } : {}),
    timeout: options.conformance?.timeoutMs ?? 10 * 60 * 1000,
    slow: 2000,
    bail: options.bail ?? false,
  });
  if (options.grep !== undefined) mocha.grep(options.grep);
  // What `mocha` does for each test file: define describe/it/before on the global object, then load.
  mocha.suite.emit(MochaModule.Suite.constants.EVENT_FILE_PRE_REQUIRE, globalThis, 'stowage-conformance', mocha);
  describeConformance(options.name, options.createDriver, options.conformance);
  mocha.suite.emit(MochaModule.Suite.constants.EVENT_FILE_POST_REQUIRE, globalThis, 'stowage-conformance', mocha);

  return new Promise((resolve) => {
    const started = Date.now();
    const runner = mocha.run(() => {
      const stats = runner.stats;
      resolve({
        passed: stats?.passes ?? 0,
        failed: stats?.failures ?? 0,
        skipped: stats?.pending ?? 0,
        total: runner.total,
        durationMs: Date.now() - started,
      });
    });
    options.onRunner?.(runner);
  });
}
