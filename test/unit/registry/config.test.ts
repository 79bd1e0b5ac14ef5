import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '@stowage/example-registry';

describe('registry config.yml', () => {
  it("reads distribution's config: storage driver and parameters, delete, redirect, uploadpurging, http, auth, log", () => {
    const config = parseConfig(`
version: 0.1
log:
  level: debug
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  s3:
    region: eu-west-1
    bucket: my-bucket
    chunksize: 10485760
  delete:
    enabled: true
  redirect:
    disable: true
  maintenance:
    uploadpurging:
      enabled: true
      age: 2h
      interval: 30m
      dryrun: true
http:
  addr: 0.0.0.0:5443
  headers:
    X-Content-Type-Options: [nosniff]
  tls:
    certificate: /certs/domain.crt
    key: /certs/domain.key
auth:
  htpasswd:
    realm: my-realm
    path: /auth/htpasswd
notifications:
  endpoints: []
`);
    assert.deepEqual(config, {
      storage: {
        driver: 's3',
        parameters: { region: 'eu-west-1', bucket: 'my-bucket', chunksize: 10485760 },
        deleteEnabled: true,
        redirectDisabled: true,
        uploadPurging: { enabled: true, ageSeconds: 7200, intervalSeconds: 1800, dryRun: true },
      },
      middleware: { storage: [] },
      http: { host: '0.0.0.0', port: 5443, tls: { certificate: '/certs/domain.crt', key: '/certs/domain.key' } },
      auth: { htpasswd: { realm: 'my-realm', path: '/auth/htpasswd' } },
      log: { level: 'debug' },
    });
  });

  it("reads middleware.storage as distribution's list of { name, options }, innermost first", () => {
    const config = parseConfig(`
storage:
  inmemory:
middleware:
  storage:
    - name: redirect
      options:
        baseurl: https://cdn.example/registry
    - name: retry
`);
    assert.deepEqual(config.middleware, {
      storage: [
        { name: 'redirect', options: { baseurl: 'https://cdn.example/registry' } },
        { name: 'retry', options: {} },
      ],
    });
  });

  it("has distribution's defaults: :5000, delete off, redirects on, purging on (168h every 24h), log info", () => {
    const config = parseConfig('storage:\n  inmemory:\n');
    assert.deepEqual(config.storage, {
      driver: 'inmemory',
      parameters: {},
      deleteEnabled: false,
      redirectDisabled: false,
      uploadPurging: { enabled: true, ageSeconds: 168 * 3600, intervalSeconds: 24 * 3600, dryRun: false },
    });
    assert.deepEqual(config.http, { host: undefined, port: 5000 });
    assert.equal(config.log.level, 'info');
    assert.equal(config.auth, undefined);
  });

  it('rejects what it cannot honour with a ConfigError naming the file and the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['storage: [', /test\.yml: not valid YAML/],
      ['http:\n  addr: :5000\n', /storage must configure exactly one driver, found none/],
      ['storage:\n  filesystem: {}\n  s3: {}\n', /exactly one driver, found filesystem, s3/],
      ['storage:\n  inmemory:\nhttp:\n  addr: localhost\n', /http.addr must be HOST:PORT/],
      ['storage:\n  inmemory:\nauth:\n  token:\n    realm: x\n', /only htpasswd is supported/],
      ['storage:\n  inmemory:\nauth:\n  htpasswd:\n    realm: x\n', /auth.htpasswd.path must be a non-empty string/],
      ['storage:\n  inmemory:\nlog:\n  level: loud\n', /log.level must be one of/],
      ['storage:\n  inmemory:\nmiddleware:\n  storage:\n    name: retry\n', /middleware.storage must be a list/],
      ['storage:\n  inmemory:\nmiddleware:\n  storage:\n    - options: {}\n', /middleware.storage\[0\].name must be a non-empty string/],
      ['storage:\n  inmemory:\nmiddleware:\n  storage:\n    - name: retry\n      options: [1]\n', /middleware.storage\[0\].options must be a mapping/],
      ['storage:\n  inmemory:\n  delete:\n    enabled: sometimes\n', /storage.delete.enabled must be true or false/],
      ['storage:\n  inmemory:\n  maintenance:\n    uploadpurging:\n      age: soon\n', /uploadpurging.age must be a positive duration/],
    ];
    for (const [yaml, message] of cases)
      assert.throws(
        () => parseConfig(yaml, 'test.yml'),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        yaml,
      );
  });
});

describe("registry example config.yml (the README's command)", () => {
  it('is a filesystem registry on 127.0.0.1:5000', async () => {
    const config = await loadConfig(join(dirname(require.resolve('@stowage/example-registry/package.json')), 'config.yml'));
    assert.equal(config.storage.driver, 'filesystem');
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 5000 });
  });
});
