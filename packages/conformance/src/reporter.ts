/**
 * A mocha reporter: mocha's spec output (every test by name, skipped ones with their reason in
 * the title), then a result table grouped by suite, then a closing line
 * `N passed, N failed, N skipped` that CI systems can read.
 * Use it with `mocha --reporter @stowage/conformance/reporter`.
 */
import Mocha = require('mocha');

const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

interface GroupTally {
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
}

class StowageReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const groups = new Map<string, GroupTally>();
    const tally = (test: Mocha.Runnable, field: 'passed' | 'failed' | 'skipped') => {
      // Group by the two outermost suite titles, e.g. "conformance: filesystem › distribution testsuite".
      const key = (test.parent?.titlePath() ?? []).slice(0, 2).join(' › ') || '(root)';
      const group = groups.get(key) ?? { passed: 0, failed: 0, skipped: 0, ms: 0 };
      group[field]++;
      group.ms += test.duration ?? 0;
      groups.set(key, group);
    };
    runner.on(EVENT_TEST_PASS, (test) => tally(test, 'passed'));
    runner.on(EVENT_TEST_FAIL, (test) => tally(test, 'failed'));
    runner.on(EVENT_TEST_PENDING, (test) => tally(test, 'skipped'));
    runner.once(EVENT_RUN_END, () => {
      const stats = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      // After the spec reporter's own epilogue, which is printed on the same event.
      process.nextTick(() => {
        process.stdout.write(`\n${formatTable(groups)}\n`);
        process.stdout.write(`\n${stats.passes} passed, ${stats.failures} failed, ${stats.pending} skipped\n`);
      });
    });
  }
}

function formatTable(groups: Map<string, GroupTally>): string {
  const header = ['suite', 'passed', 'failed', 'skipped', 'seconds'];
  const rows = [...groups].map(([name, g]) => [name, String(g.passed), String(g.failed), String(g.skipped), (g.ms / 1000).toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export = StowageReporter;
