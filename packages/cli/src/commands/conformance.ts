/**
 * `stowage conformance`: the published suite against the configured driver, run with mocha in
 * this process. Resume tests get a second driver built from the same configuration, as a new
 * process would; a driver that exposes `leftovers(prefix)` has its hidden state checked too.
 */
import { effectiveProfile, PROFILE_ENV_VAR, runConformance, type SizeProfileName } from '@stowage/conformance';
import type { StorageDriver } from '@stowage/core';
import { attachProgress } from '../conformance/progress';
import { parseReportRequests, renderReport, writeReports } from '../conformance/reports';
import { ResultRecorder, tallyByGroup, type ConformanceReport } from '../conformance/results';
import { buildDriver, releaseDriver } from '../driver-source';
import { ReportedFailure, UsageError } from '../errors';
import type { CommandContext } from '../program';

interface ConformanceCommandOptions {
  profile?: SizeProfileName;
  grep?: string;
  report: string[];
  redirect: string;
  bail?: boolean;
}

/** The path probed to see whether the driver hands out redirect URLs; it need not exist. */
const REDIRECT_PROBE = '/stowage-cli-redirect-probe';

/** Whether to run the suite's redirect tests: `on`, `off`, or `auto` (the driver returns a URL for a probe path). */
async function redirectCapability(driver: StorageDriver, mode: string): Promise<boolean> {
  if (mode === 'on') return true;
  if (mode === 'off') return false;
  if (mode !== 'auto') throw new UsageError(`--redirect ${mode}: expected auto, on or off`);
  // What the driver declares; a driver built against an older core declares nothing and is asked.
  const declared = (driver as Partial<StorageDriver>).supports?.redirect;
  if (declared !== undefined) return declared;
  try {
    return typeof (await driver.redirectURL(REDIRECT_PROBE)) === 'string';
  } catch {
    return false; // a driver that checks the path first; the suite's redirect test will say more
  }
}

function compileGrep(pattern: string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined;
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new UsageError(`--grep ${pattern}: ${(err as Error).message}`);
  }
}

export async function conformance(ctx: CommandContext): Promise<void> {
  const { driver, spec, output } = ctx;
  const options = ctx.opts<ConformanceCommandOptions>();
  const reports = parseReportRequests(options.report);
  const grep = compileGrep(options.grep);
  // --profile wins over an inherited STOWAGE_CONFORMANCE_PROFILE (which the suite reads); without
  // --profile, that variable or else 'standard'.
  if (options.profile !== undefined) delete process.env[PROFILE_ENV_VAR];
  const profile = options.profile ?? 'standard';
  const { label } = effectiveProfile(profile);
  const redirect = await redirectCapability(driver, options.redirect);

  const instances: StorageDriver[] = [];
  const recorder = new ResultRecorder((text) => output.redact(text));
  const startedAt = new Date();
  output.note(`conformance: driver ${spec.driver} (from ${spec.source}), ${label}, redirect tests ${redirect ? 'on' : 'off'}`);
  let result;
  try {
    result = await runConformance({
      name: spec.driver,
      createDriver: () => driver,
      conformance: {
        profile,
        capabilities: { redirect },
        newInstance: () => {
          const instance = buildDriver(spec);
          instances.push(instance);
          return instance;
        },
        // No leftovers hook: the suite asks the driver's own leftovers(prefix) when it has one.
      },
      ...(grep ? { grep } : {}),
      bail: options.bail === true,
      onRunner: (runner) => {
        recorder.attach(runner);
        attachProgress(runner, output);
      },
    });
  } finally {
    for (const instance of instances) releaseDriver(instance);
  }

  if (result.total === 0) throw new UsageError(`--grep ${options.grep}: matches no test`);
  const report: ConformanceReport = {
    driver: spec.driver,
    profile: label,
    startedAt: startedAt.toISOString(),
    durationMs: result.durationMs,
    passed: result.passed,
    failed: result.failed,
    skipped: result.skipped,
    tests: recorder.tests,
  };
  await writeReports(report, reports);
  for (const request of reports) output.note(`conformance: ${request.format} report written to ${request.file}`);

  if (output.json) {
    output.line(renderReport(report, 'json').trimEnd());
  } else {
    output.line();
    output.table(
      ['suite', 'passed', 'failed', 'skipped', 'seconds'],
      tallyByGroup(report.tests).map((g) => [g.group, String(g.passed), String(g.failed), String(g.skipped), (g.ms / 1000).toFixed(1)]),
    );
    const failures = report.tests.filter((t) => t.state === 'failed');
    if (failures.length > 0) {
      output.line();
      output.line('Failures:');
      failures.forEach((test, i) => {
        output.line(`  ${i + 1}) ${[...test.suite.slice(1), test.title].join(' › ')}`);
        for (const line of (test.error ?? '').split('\n')) output.line(`     ${line}`);
      });
    }
    output.line();
    output.line(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  }
  if (report.failed > 0) throw new ReportedFailure();
}
