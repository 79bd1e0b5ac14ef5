import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { filesystemBackend, s3Backend, type CliBackend } from './backends';
import { describeRun, runStowage, tempDir, type StowageRun } from './run-stowage';

interface JsonReport {
  driver: string;
  passed: number;
  failed: number;
  skipped: number;
  tests: Array<{ title: string; state: string; error?: string }>;
}

/** The closing line's counts; asserts it is there. */
function closingCounts(run: StowageRun): { passed: number; failed: number; skipped: number } {
  const match = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(run.stdout);
  assert.ok(match, `no closing line\n${describeRun(run)}`);
  return { passed: Number(match[1]), failed: Number(match[2]), skipped: Number(match[3]) };
}

/** Progress lines on stderr: `[ n/N] ok   title (0.1s)`, numbered up to the total. */
function assertProgress(run: StowageRun, total: number): void {
  const numbers = [...run.stderr.matchAll(/^\[\s*(\d+)\/(\d+)\] (ok {2}|FAIL|skip) /gm)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.equal(numbers.length, total, 'a progress line per test');
  assert.deepEqual(
    numbers.map(([, of]) => of),
    numbers.map(() => total),
    'each says the total',
  );
  assert.deepEqual(
    numbers.map(([n]) => n),
    numbers.map((_, i) => i + 1),
    'counted in order',
  );
}

describe('stowage conformance', function () {
  describe('filesystem, quick profile, with json/junit/html reports', function () {
    let backend: CliBackend;
    let reports: { path: string; remove: () => Promise<void> };
    let run: StowageRun;

    before(async () => {
      backend = await filesystemBackend();
      reports = await tempDir('reports');
      run = await runStowage([
        'conformance',
        ...backend.args,
        '--profile',
        'quick',
        '--report',
        'json',
        join(reports.path, 'r.json'),
        'junit',
        join(reports.path, 'r.xml'),
        '--report',
        'html',
        join(reports.path, 'r.html'),
      ]);
    });

    after(async () => {
      await backend?.cleanUp();
      await reports?.remove();
    });

    it('passes, with a result table, live progress and the closing line', () => {
      assert.equal(run.code, 0, describeRun(run));
      const counts = closingCounts(run);
      assert.ok(counts.passed > 50, `${counts.passed} passed`);
      assert.equal(counts.failed, 0);
      assert.match(run.stdout, /^suite\s+passed\s+failed\s+skipped\s+seconds$/m);
      assert.match(run.stdout, /^filesystem: conformance \(quick profile\) › resumable uploads\s+\d+\s+0\s+\d+/m);
      assert.match(run.stderr, /^conformance: driver filesystem \(from --driver\), quick profile, redirect tests off$/m);
      assertProgress(run, counts.passed + counts.failed + counts.skipped);
    });

    it('writes the same counts to the JSON, JUnit and HTML reports', async () => {
      const counts = closingCounts(run);
      const json = JSON.parse(await readFile(join(reports.path, 'r.json'), 'utf8')) as JsonReport;
      assert.deepEqual([json.driver, json.passed, json.failed, json.skipped], ['filesystem', counts.passed, 0, counts.skipped]);
      assert.equal(json.tests.filter((t) => t.state === 'passed').length, counts.passed);
      const xml = await readFile(join(reports.path, 'r.xml'), 'utf8');
      assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
      assert.equal(xml.match(/<testcase /g)?.length, json.tests.length);
      assert.equal(xml.match(/<failure /g), null);
      const html = await readFile(join(reports.path, 'r.html'), 'utf8');
      assert.match(html, /^<!DOCTYPE html>/);
      assert.match(html, new RegExp(`${counts.passed} passed, 0 failed, ${counts.skipped} skipped`));
      assert.doesNotMatch(html, /<script|https?:\/\//, 'self-contained: no scripts, nothing fetched');
    });
  });

  it('passes on S3 (Swift s3api) configured from a config.yml, redirect tests included', async function () {
    const backend = await s3Backend(this, 'cli-conformance');
    try {
      const run = await runStowage(['conformance', ...backend.args, '--profile', 'quick']);
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(closingCounts(run).failed, 0);
      assert.match(run.stderr, /^conformance: driver s3 \(from .*config\.yml\), quick profile, redirect tests on$/m);
      assert.match(run.stderr, /ok {3}s3: conformance \(quick profile\) distribution's testsuites RedirectURL: GET and HEAD URLs serve the content/);
      for (const secret of backend.secrets) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'a credential was printed');
    } finally {
      await backend.cleanUp();
    }
  });

  describe('a third-party driver loaded with --require', function () {
    let work: { path: string; remove: () => Promise<void> };
    let pkg: string;

    before(async () => {
      work = await tempDir('third-party');
      // A package of its own, as an author would have it: it finds @stowage/core (and the
      // filesystem driver it wraps) in its node_modules, here linked to this repository's.
      pkg = join(work.path, 'stowage-driver-example');
      for (const dep of ['core', 'filesystem']) {
        const link = join(pkg, 'node_modules', '@stowage', dep);
        await mkdir(dirname(link), { recursive: true });
        await symlink(dirname(require.resolve(`@stowage/${dep}/package.json`)), link);
      }
      await writeFile(
        join(pkg, 'package.json'),
        JSON.stringify({ name: 'stowage-driver-example', version: '1.0.0', main: 'index.js', peerDependencies: { '@stowage/core': '*' } }),
      );
      await writeFile(
        join(pkg, 'index.js'),
        `'use strict';
const { ParameterReader, registerDriver } = require('@stowage/core');
const { FilesystemDriver } = require('@stowage/filesystem');
// A driver under its own name (the filesystem driver's code, so that the test needs no backend).
class ExampleDriver extends FilesystemDriver {
  name = 'example';
}
// The same, with a bug: stat reports one byte too many.
class BrokenDriver extends ExampleDriver {
  name = 'example-broken';
  async stat(path, opts) {
    const info = await super.stat(path, opts);
    return info.isDir ? info : { ...info, size: info.size + 1 };
  }
}
const rootOf = (name, params) => ({ rootdirectory: new ParameterReader(name, params).requiredString('rootdirectory') });
registerDriver('example', (params) => new ExampleDriver(rootOf('example', params)));
registerDriver('example-broken', (params) => new BrokenDriver(rootOf('example-broken', params)));
`,
      );
    });

    after(async () => {
      await work?.remove();
    });

    it('is listed by `stowage drivers --require`', async () => {
      const run = await runStowage(['drivers', '--require', pkg]);
      assert.equal(run.code, 0, describeRun(run));
      assert.deepEqual(
        run.stdout
          .trim()
          .split('\n')
          .filter((name) => name.startsWith('example')),
        ['example', 'example-broken'],
      );
    });

    it('passes the suite, configured from STOWAGE_DRIVER and STOWAGE_PARAM_ variables', async () => {
      const run = await runStowage(['conformance', '--require', './stowage-driver-example', '--profile', 'quick'], {
        cwd: work.path,
        env: { STOWAGE_DRIVER: 'example', STOWAGE_PARAM_ROOTDIRECTORY: join(work.path, 'storage') },
      });
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(closingCounts(run).failed, 0);
      assert.match(run.stdout, /^example: conformance \(quick profile\) › /m);
    });

    it('fails with exit 1 and the failures listed when the driver breaks the contract', async () => {
      const run = await runStowage([
        'conformance',
        '--require',
        pkg,
        '--driver',
        'example-broken',
        '--param',
        `rootdirectory=${join(work.path, 'broken')}`,
        '--profile',
        'quick',
        '--grep',
        'StatCall',
      ]);
      assert.equal(run.code, 1, describeRun(run));
      const counts = closingCounts(run);
      assert.ok(counts.failed >= 1, describeRun(run));
      assert.equal(counts.passed + counts.failed + counts.skipped, [...run.stderr.matchAll(/^\[\s*\d+\/\d+\] /gm)].length);
      assert.match(run.stdout, /^Failures:$/m);
      assert.match(run.stdout, /^ {2}1\) .*StatCall/m);
      const json = await runStowage([
        'conformance',
        '--require',
        pkg,
        '--driver',
        'example-broken',
        '--param',
        `rootdirectory=${join(work.path, 'broken-json')}`,
        '--profile',
        'quick',
        '--grep',
        'StatCall',
        '--json',
      ]);
      assert.equal(json.code, 1, describeRun(json));
      const report = JSON.parse(json.stdout) as JsonReport;
      assert.equal(report.driver, 'example-broken');
      assert.ok(
        report.tests.some((t) => t.state === 'failed' && t.title.startsWith('StatCall') && /size/i.test(t.error ?? '')),
        JSON.stringify(report.tests, null, 2),
      );
    });

    it('an unknown module or driver is a usage error (exit 2)', async () => {
      const missing = await runStowage(['ls', '--require', './no-such-module', '--driver', 'example'], { cwd: work.path });
      assert.equal(missing.code, 2, describeRun(missing));
      assert.match(missing.stderr, /--require \.\/no-such-module: module not found/);
      const unknown = await runStowage(['ls', '--driver', 'example']);
      assert.equal(unknown.code, 2, describeRun(unknown));
      assert.match(unknown.stderr, /ERR_UNKNOWN_DRIVER \(driver example\)/);
    });
  });
});
