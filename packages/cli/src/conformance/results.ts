/**
 * Collects every test's outcome from a mocha runner, for the result table and the reports.
 */
import Mocha = require('mocha');

const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

type TestState = 'passed' | 'failed' | 'skipped';

/** One test (or a failed hook, which mocha reports as a failure too). */
export interface TestRecord {
  /** The suite path below the root, e.g. ["filesystem: conformance (quick profile)", "distribution testsuite"]. */
  suite: string[];
  title: string;
  state: TestState;
  durationMs: number;
  /** The failure's message (first lines), for failed tests. */
  error?: string;
}

/** What every report is made from. */
export interface ConformanceReport {
  driver: string;
  profile: string;
  startedAt: string;
  durationMs: number;
  passed: number;
  failed: number;
  skipped: number;
  tests: TestRecord[];
}

/** The error's message and, for assertion errors, the first lines only: reports stay readable. */
function errorText(err: unknown): string {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return message.split('\n').slice(0, 12).join('\n');
}

/** Records outcomes as the runner reports them; `redact` is applied to every error message. */
export class ResultRecorder {
  readonly tests: TestRecord[] = [];

  constructor(private readonly redact: (text: string) => string) {}

  attach(runner: Mocha.Runner): void {
    const record = (test: Mocha.Runnable, state: TestState, err?: unknown) => {
      this.tests.push({
        suite: test.parent?.titlePath() ?? [],
        title: test.title,
        state,
        durationMs: test.duration ?? 0,
        ...(err !== undefined ? { error: this.redact(errorText(err)) } : {}),
      });
    };
    runner.on(EVENT_TEST_PASS, (test) => record(test, 'passed'));
    runner.on(EVENT_TEST_FAIL, (test, err) => record(test, 'failed', err));
    runner.on(EVENT_TEST_PENDING, (test) => record(test, 'skipped'));
  }
}

export interface GroupTally {
  group: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
}

/** Per-group counts, grouped by the first two suite titles, in the order the groups ran. */
export function tallyByGroup(tests: readonly TestRecord[]): GroupTally[] {
  const groups = new Map<string, GroupTally>();
  for (const test of tests) {
    const group = test.suite.slice(0, 2).join(' › ') || '(root)';
    const tally = groups.get(group) ?? { group, passed: 0, failed: 0, skipped: 0, ms: 0 };
    tally[test.state]++;
    tally.ms += test.durationMs;
    groups.set(group, tally);
  }
  return [...groups.values()];
}
