/**
 * The packages as users get them: `npm pack` of every publishable package (its prepack builds it
 * and adds the LICENSE), the tarballs installed into a fresh project, then each package loaded
 * with `require` and with `import`, a TypeScript consumer compiled under moduleResolution node16
 * (CommonJS and ESM) and bundler, a driver created while two copies of @stowage/core are
 * installed, and a backend author's conformance run with the command the suite's README gives.
 *
 * Needs the npm registry for the packages' own dependencies (npm's cache answers most of them).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const REPO = resolve(__dirname, '../../../..');
const TSC = require.resolve('typescript/bin/tsc', { paths: [REPO] });
const PACKAGES = ['core', 'inmemory', 'filesystem', 's3', 'azure', 'oss', 'swift', 'middleware', 'conformance', 'cli'];
/** Every entry point a user can import: package subpaths with a JavaScript module behind them. */
const ENTRY_POINTS = PACKAGES.map((name) => `@stowage/${name}`).concat(
  ['@stowage/conformance/bench'],
  ['core', 'filesystem', 's3', 'azure', 'oss', 'swift'].map((name) => `@stowage/${name}/internal`),
);

/** Runs a command; on failure the error carries its output. */
async function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout, stderr } = await exec(file, args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '', ...env } });
    return stdout + stderr;
  } catch (err) {
    const failure = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} (in ${cwd}) failed: ${failure.message}\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`, { cause: err });
  }
}

const node = (cwd: string, args: string[]) => run(process.execPath, args, cwd);
const tsc = (cwd: string, args: string[]) => run(process.execPath, [TSC, ...args], cwd);
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('packages from their tarballs', function () {
  let work: string;
  let app: string;
  let tarballs: string[];

  before(async function () {
    this.timeout(900_000);
    work = await mkdtemp(join(tmpdir(), 'stowage-packaging-'));
    const packDir = join(work, 'tarballs');
    await mkdir(packDir);
    const workspaces = PACKAGES.flatMap((name) => ['-w', `packages/${name}`]);
    await run('npm', ['pack', '--silent', ...workspaces, '--pack-destination', packDir], REPO);
    tarballs = (await readdir(packDir)).filter((file) => file.endsWith('.tgz')).map((file) => join(packDir, file));
    app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), json({ name: 'app', private: true }));
    // @types/node as a consumer has it; the packages' own types must need nothing else.
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '@types/node@^20.19.0', ...tarballs], app);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('every tarball carries its LICENSE, README, dist with an ESM entry, and no test or build leftovers', async () => {
    assert.equal(tarballs.length, PACKAGES.length);
    for (const name of PACKAGES) {
      const dir = join(app, 'node_modules', '@stowage', name);
      const files = await readdir(dir);
      assert.ok(files.includes('LICENSE'), `${name}: LICENSE`);
      assert.match(await readFile(join(dir, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
      assert.ok(files.includes('README.md'), `${name}: README.md`);
      const dist = await readdir(join(dir, 'dist'));
      assert.ok(dist.includes('index.js') && dist.includes('index.mjs') && dist.includes('index.d.mts'), `${name}: dist/index.{js,mjs,d.mts}`);
      assert.ok(!dist.some((file) => file.endsWith('.tsbuildinfo')), `${name}: no tsbuildinfo`);
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      assert.equal(manifest.license, 'Apache-2.0');
      assert.equal(manifest.publishConfig?.access, 'public', `${name}: publishConfig.access`);
      assert.match(manifest.repository?.url ?? '', /^git\+https:\/\//, `${name}: repository`);
      assert.ok(manifest.homepage && manifest.bugs?.url, `${name}: homepage and bugs`);
    }
  });

  it('each entry point loads with require and with import, with the same names, as one module', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const results = {};
      for (const entry of ${JSON.stringify(ENTRY_POINTS)}) {
        const esm = await import(entry);
        const cjs = require(entry);
        const esmNames = Object.keys(esm).filter((name) => !['default', 'module.exports', '__esModule'].includes(name)).sort();
        const cjsNames = Object.keys(cjs).filter((name) => name !== '__esModule').sort();
        const sameObjects = cjsNames.every((name) => esm[name] === cjs[name]);
        results[entry] = { esmNames, cjsNames, sameObjects };
      }
      console.log(JSON.stringify(results));`;
    const results = JSON.parse(await node(app, ['--input-type=module', '-e', script])) as Record<
      string,
      { esmNames: string[]; cjsNames: string[]; sameObjects: boolean }
    >;
    for (const entry of ENTRY_POINTS) {
      const result = results[entry]!;
      assert.ok(result.cjsNames.length > 0, `${entry} exports something`);
      assert.deepEqual(result.esmNames, result.cjsNames, `${entry}: import and require see the same names`);
      assert.ok(result.sameObjects, `${entry}: import and require give the same objects (one copy of the module)`);
    }
    const reporter = await node(app, ['-e', "console.log(typeof require('@stowage/conformance/reporter'))"]);
    assert.equal(reporter.trim(), 'function');
  });

  it('a driver registered through import is created through require, and the reverse', async () => {
    const root = join(work, 'mixed-root');
    const script = `
      import { createRequire } from 'node:module';
      import { createDriver } from '@stowage/core';
      import '@stowage/filesystem';
      const require = createRequire(import.meta.url);
      require('@stowage/inmemory');
      const viaRequire = require('@stowage/core').createDriver('filesystem', { rootdirectory: ${JSON.stringify(root)} });
      await viaRequire.putContent('/a', Buffer.from('ab'));
      const viaImport = createDriver('inmemory');
      console.log(viaRequire.name, (await viaRequire.stat('/a')).size, viaImport.name);`;
    assert.equal((await node(app, ['--input-type=module', '-e', script])).trim(), 'filesystem 2 inmemory');
  });

  it('createDriver finds a driver while two copies of @stowage/core are installed', async () => {
    // A driver package pinned to another core version gets its own nested copy of core.
    const nested = join(app, 'node_modules', '@stowage', 'filesystem', 'node_modules', '@stowage', 'core');
    await cp(join(app, 'node_modules', '@stowage', 'core'), nested, { recursive: true });
    const nestedManifest = JSON.parse(await readFile(join(nested, 'package.json'), 'utf8'));
    await writeFile(join(nested, 'package.json'), json({ ...nestedManifest, version: '0.0.9-pinned' }));
    try {
      const root = join(work, 'two-cores-root');
      const script = `
        const { dirname } = require('node:path');
        const core = require('@stowage/core');
        require('@stowage/filesystem');
        require('@stowage/middleware');
        const driverDir = dirname(require.resolve('@stowage/filesystem/package.json'));
        const nestedCore = require(require.resolve('@stowage/core', { paths: [driverDir] }));
        if (nestedCore === core) throw new Error('the driver package did not get its own copy of core');
        const driver = core.createDriver('filesystem', { rootdirectory: ${JSON.stringify(root)} });
        (async () => {
          await driver.putContent('/blob', Buffer.from('abc'));
          let guarded = false;
          try { await driver.stat('/missing'); } catch (err) { guarded = core.isPathNotFound(err) && !(err instanceof core.PathNotFoundError); }
          console.log(JSON.stringify({
            nestedVersion: require(require.resolve('@stowage/core/package.json', { paths: [driverDir] })).version,
            registered: core.registeredDrivers(),
            viaNested: nestedCore.registeredDrivers(),
            middleware: core.registeredMiddleware(),
            middlewareViaNested: nestedCore.registeredMiddleware(),
            wrapped: nestedCore.applyMiddleware(driver, [{ name: 'retry' }, { name: 'regulator', options: { maxthreads: 2 } }]).constructor.name,
            size: (await driver.stat('/blob')).size,
            guarded,
          }));
        })().catch((err) => { console.error(err); process.exit(1); });`;
      const result = JSON.parse(await node(app, ['-e', script]));
      assert.equal(result.nestedVersion, '0.0.9-pinned');
      assert.ok(result.registered.includes('filesystem'), `registered: ${result.registered}`);
      assert.deepEqual(result.viaNested, result.registered);
      assert.ok(result.middleware.includes('redirect') && result.middleware.includes('retry'), `middleware: ${result.middleware}`);
      assert.deepEqual(result.middlewareViaNested, result.middleware, 'one middleware registry for both copies of core');
      assert.equal(result.wrapped, 'RegulatorMiddleware');
      assert.equal(result.size, 3);
      assert.equal(result.guarded, true, "an error from the driver's copy of core passes the app copy's guard");
    } finally {
      await rm(join(app, 'node_modules', '@stowage', 'filesystem', 'node_modules'), { recursive: true, force: true });
    }
  });

  describe('a TypeScript consumer compiles and runs', () => {
    const consumer = (root: string) => `
      import { createDriver, isPathNotFound, type StorageDriver } from '@stowage/core';
      import { FilesystemDriver } from '@stowage/filesystem';
      import { InMemoryDriver } from '@stowage/inmemory';
      import { S3Driver } from '@stowage/s3';
      import { AzureDriver } from '@stowage/azure';
      import { OssDriver } from '@stowage/oss';
      import { SwiftDriver } from '@stowage/swift';
      import { describeConformance } from '@stowage/conformance';
      import { runBenchmarks } from '@stowage/conformance/bench';

      const classes = [FilesystemDriver, InMemoryDriver, S3Driver, AzureDriver, OssDriver, SwiftDriver, describeConformance, runBenchmarks];
      const driver: StorageDriver = createDriver('filesystem', { rootdirectory: ${JSON.stringify(root)} });
      driver.putContent('/x', Buffer.from('xyz'))
        .then(() => driver.stat('/nothing'))
        .catch((err: unknown) => console.log(isPathNotFound(err) ? 'typed' : 'untyped', classes.every((item) => typeof item === 'function')));
    `;

    const setups = [
      { title: 'CommonJS project, moduleResolution node16', type: 'commonjs', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
      { title: 'ESM project, moduleResolution node16', type: 'module', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
      { title: 'moduleResolution bundler', type: 'module', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
    ];

    for (const setup of setups) {
      it(setup.title, async function () {
        this.timeout(120_000);
        const dir = join(app, `consumer-${setup.type}-${setup.compilerOptions.moduleResolution}`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'package.json'), json({ name: `consumer-${setup.type}`, private: true, type: setup.type }));
        await writeFile(join(dir, 'main.ts'), consumer(join(dir, 'root')));
        const tsconfig = {
          compilerOptions: { target: 'es2022', strict: true, outDir: 'out', types: ['node'], skipLibCheck: true, ...setup.compilerOptions },
          files: ['main.ts'],
        };
        await writeFile(join(dir, 'tsconfig.json'), json(tsconfig));
        await tsc(dir, ['-p', '.']);
        const output = await node(dir, [join(dir, 'out', 'main.js')]);
        assert.equal(output.trim(), 'typed true');
      });
    }
  });

  it("a backend author's suite compiles and runs with the README's command", async function () {
    this.timeout(300_000);
    const dir = join(app, 'author');
    await mkdir(join(dir, 'test'), { recursive: true });
    await writeFile(join(dir, 'package.json'), json({ name: 'my-driver', private: true }));
    await writeFile(
      join(dir, 'test', 'mydriver.test.ts'),
      `import { describeConformance } from '@stowage/conformance';
       import { InMemoryDriver } from '@stowage/inmemory';

       class MyDriver extends InMemoryDriver {}

       describeConformance('mydriver', () => new MyDriver(), {
         profile: 'quick',
         newInstance: (driver) => new MyDriver({ store: (driver as MyDriver).store }),
       });
      `,
    );
    await writeFile(
      join(dir, 'tsconfig.json'),
      json({ compilerOptions: { target: 'es2022', module: 'node16', strict: true, skipLibCheck: true }, include: ['test'] }),
    );
    await tsc(dir, ['--outDir', 'build']);
    const mocha = join(app, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const output = await node(dir, [mocha, '--reporter', '@stowage/conformance/reporter', 'build/**/*.test.js']);
    const summary = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(output);
    assert.ok(summary, output.slice(-2000));
    assert.ok(Number(summary[1]) >= 90, `passed: ${summary[1]}`);
    assert.equal(summary[2], '0', output.slice(-3000));
  });
});
