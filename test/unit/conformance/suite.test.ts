import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

interface MochaJsonTest {
  fullTitle: string;
  err: { message?: string };
}
interface MochaJsonReport {
  stats: { passes: number; failures: number; pending: number };
  passes: MochaJsonTest[];
  failures: MochaJsonTest[];
}

/** The tests each broken driver must fail, and what the failure must say. */
const EXPECTED: Array<{ driver: string; test: string; message: RegExp }> = [
  { driver: 'broken leaky-cancel', test: 'cancel of an open writer leaves nothing', message: /append after cancel|unfinished upload|leftovers/ },
  { driver: 'broken string-order-walk', test: 'walk order is the same on every driver', message: /walk order/ },
  { driver: 'broken shared-buffers', test: 'stored content is a copy', message: /changing a buffer getContent returned/ },
  { driver: 'broken torn-put', test: 'readers during rewrites see one whole version', message: /neither version/ },
  { driver: 'broken hidden-leftovers', test: 'stored content is a copy', message: /leftovers hook reports .*ghost/ },
  { driver: 'broken false-redirect', test: 'RedirectURL: GET and HEAD URLs serve the content', message: /must return a URL/ },
  { driver: 'broken forgetful-new-instance', test: 'resumes from a new driver instance after close', message: /path not found: .*\/blobs\/upload/ },
];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('conformance: the suite catches broken drivers', function () {
  this.timeout(120_000);
  let report: MochaJsonReport;

  before(async () => {
    const mochaBin = path.join(path.dirname(require.resolve('mocha/package.json')), 'bin', 'mocha.js');
    const fixture = path.join(__dirname, 'fixtures', 'broken-drivers.js');
    const grep = EXPECTED.map((e) => escape(e.test)).join('|');
    // mocha exits non-zero when tests fail, which is the point here: read the JSON either way.
    const run = promisify(execFile)(process.execPath, [mochaBin, '--no-config', '--reporter', 'json', '--timeout', '60000', '--grep', grep, fixture], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, STOWAGE_CONFORMANCE_PROFILE: '' },
    });
    let stdout: string;
    try {
      stdout = (await run).stdout;
    } catch (err) {
      stdout = (err as { stdout?: string }).stdout ?? '';
      if (!stdout) throw err;
    }
    report = JSON.parse(stdout) as MochaJsonReport;
  });

  it('the reference driver passes every selected test', () => {
    const reference = (t: MochaJsonTest) => t.fullTitle.startsWith('reference:');
    assert.deepEqual(
      report.failures.filter(reference).map((t) => `${t.fullTitle}: ${t.err.message}`),
      [],
    );
    assert.ok(report.passes.filter(reference).length >= EXPECTED.length, 'the reference driver ran the selected tests');
  });

  for (const expected of EXPECTED) {
    it(`${expected.driver} fails "${expected.test}"`, () => {
      const failure = report.failures.find((t) => t.fullTitle.startsWith(`${expected.driver}:`) && t.fullTitle.includes(expected.test));
      const passed = report.passes.filter((t) => t.fullTitle.startsWith(`${expected.driver}:`) && t.fullTitle.includes(expected.test)).map((t) => t.fullTitle);
      assert.ok(failure, `expected a failure; passed instead: ${JSON.stringify(passed)}`);
      assert.match(failure.err.message ?? '', expected.message);
    });
  }
});
