/**
 * A mocha reporter: mocha's spec output (every test by name, skipped ones with their reason in
 * the title), then a closing line `N passed, N failed, N skipped` that CI systems can read.
 * Use it with `mocha --reporter @stowage/conformance/reporter`.
 */
import Mocha = require('mocha');

const { EVENT_RUN_END } = Mocha.Runner.constants;

class StowageReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const stats = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      // After the spec reporter's own epilogue, which is printed on the same event.
      process.nextTick(() => {
        process.stdout.write(`\n${stats.passes} passed, ${stats.failures} failed, ${stats.pending} skipped\n`);
      });
    });
  }
}

export = StowageReporter;
