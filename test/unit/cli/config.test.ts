import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readStorageSection, resolveDriverSpec, UsageError } from '@stowage/cli';
import { describeRun, runStowage, tempDir } from './run-stowage';

describe('stowage driver configuration', function () {
  let dir: { path: string; remove: () => Promise<void> };
  const configFile = async (name: string, text: string) => {
    const file = join(dir.path, name);
    await writeFile(file, text);
    return file;
  };

  before(async () => {
    dir = await tempDir('config');
  });

  after(async () => {
    await dir?.remove();
  });

  it("reads a distribution config.yml's storage: section unchanged, skipping the registry's own keys", async () => {
    const file = await configFile(
      'config.yml',
      `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /var/lib/registry
    maxthreads: 100
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: true
http:
  addr: :5000
`,
    );
    assert.deepEqual(readStorageSection(file), { driver: 'filesystem', parameters: { rootdirectory: '/var/lib/registry', maxthreads: 100 } });
    const inmemory = await configFile('inmemory.yml', 'storage: inmemory\n');
    assert.deepEqual(readStorageSection(inmemory), { driver: 'inmemory', parameters: {} });
  });

  it('needs --storage-key when storage: names more than one driver', async () => {
    const file = await configFile('two.yml', 'storage:\n  filesystem:\n    rootdirectory: /a\n  s3:\n    bucket: b\n    region: r\n');
    assert.throws(
      () => readStorageSection(file),
      (err: Error) => err instanceof UsageError && /names 2 drivers \(filesystem, s3\); choose one with --storage-key/.test(err.message),
    );
    assert.deepEqual(readStorageSection(file, 's3'), { driver: 's3', parameters: { bucket: 'b', region: 'r' } });
    assert.throws(() => readStorageSection(file, 'azure'), /--storage-key azure: not a driver under storage:/);
    const run = await runStowage(['ls', '--config', file]);
    assert.equal(run.code, 2, describeRun(run));
    assert.match(run.stderr, /choose one with --storage-key/);
  });

  it('reports a missing file, bad YAML and a missing storage: section as usage errors', async () => {
    assert.throws(() => readStorageSection(join(dir.path, 'missing.yml')), /cannot read it \(ENOENT\)/);
    const bad = await configFile('bad.yml', 'storage: [unclosed\n');
    assert.throws(() => readStorageSection(bad), /not valid YAML/);
    const none = await configFile('none.yml', 'version: 0.1\n');
    assert.throws(() => readStorageSection(none), /no storage: section/);
  });

  it('takes --driver/--param, else STOWAGE_DRIVER and STOWAGE_PARAM_<KEY>, and refuses mixtures', () => {
    assert.deepEqual(resolveDriverSpec({ driver: 's3', param: ['bucket=b', 'regionendpoint=http://h:9000/?x=1'] }, {}), {
      driver: 's3',
      parameters: { bucket: 'b', regionendpoint: 'http://h:9000/?x=1' },
      source: '--driver',
    });
    assert.deepEqual(resolveDriverSpec({}, { STOWAGE_DRIVER: 'filesystem', STOWAGE_PARAM_ROOTDIRECTORY: '/r', STOWAGE_PARAM_MAXTHREADS: '30', OTHER: 'x' }), {
      driver: 'filesystem',
      parameters: { rootdirectory: '/r', maxthreads: '30' },
      source: 'STOWAGE_DRIVER',
    });
    assert.throws(() => resolveDriverSpec({ driver: 's3', param: ['novalue'] }, {}), /--param "novalue": expected key=value/);
    assert.throws(() => resolveDriverSpec({ config: 'x.yml', driver: 's3' }, {}), /alternatives/);
    assert.throws(() => resolveDriverSpec({ param: ['a=b'] }, {}), /--param needs --driver/);
    assert.throws(() => resolveDriverSpec({}, {}), /no driver configured/);
  });

  it('never prints a credential: secret parameter values are replaced by *** wherever they would appear', async () => {
    // The secret used as a path, so that the error message would carry it.
    const secret = 'sup3r-s3cret-value';
    const run = await runStowage(['stat', `/${secret}`, '--driver', 'filesystem', '--param', `rootdirectory=${dir.path}`, '--param', `accountkey=${secret}`]);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /ERR_PATH_NOT_FOUND \(driver filesystem, path \/\*\*\*\)/);
    assert.ok(!run.stderr.includes(secret) && !run.stdout.includes(secret));
  });
});
