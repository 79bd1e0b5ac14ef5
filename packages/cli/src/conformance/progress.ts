/**
 * Live progress of a conformance run on stderr: a line per finished test with its number out of
 * the total, and on a terminal a status line with the running test and the elapsed time.
 */
import Mocha = require('mocha');
import { formatElapsed, type Output } from '../output';

const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_TEST_BEGIN, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

const MARK = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' } as const;

export function attachProgress(runner: Mocha.Runner, output: Output): void {
  const started = Date.now();
  const total = runner.total;
  const width = String(total).length;
  let done = 0;
  let current = '';
  let ticker: NodeJS.Timeout | undefined;

  const counter = () => `[${String(done).padStart(width)}/${total}]`;
  const showStatus = () => output.status(`${counter()} ${formatElapsed(Date.now() - started)}  running: ${current}`);
  const finished = (test: Mocha.Runnable, state: keyof typeof MARK) => {
    // A failed hook is not one of the counted tests.
    if ((test as Mocha.Runnable & { type?: string }).type === 'test') done++;
    const seconds = test.duration !== undefined ? ` (${(test.duration / 1000).toFixed(1)}s)` : '';
    output.note(`${counter()} ${MARK[state]} ${test.fullTitle()}${state === 'skipped' ? '' : seconds}`);
    showStatus();
  };

  runner.once(EVENT_RUN_BEGIN, () => {
    output.note(`running ${total} tests`);
    if (output.interactive) ticker = setInterval(showStatus, 1000).unref();
  });
  runner.on(EVENT_TEST_BEGIN, (test) => {
    current = test.title;
    showStatus();
  });
  runner.on(EVENT_TEST_PASS, (test) => finished(test, 'passed'));
  runner.on(EVENT_TEST_FAIL, (test) => finished(test, 'failed'));
  runner.on(EVENT_TEST_PENDING, (test) => finished(test, 'skipped'));
  runner.once(EVENT_RUN_END, () => {
    if (ticker) clearInterval(ticker);
    output.clearStatus();
  });
}
