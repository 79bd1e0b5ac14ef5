import assert from 'node:assert/strict';
import { ErrorCode, createDriver, hasErrorCode } from '@stowage/core';
import { AzureDriver, DEFAULT_BLOCK_SIZE, azureDriverFactory } from '@stowage/azure';

// A syntactically valid (base64) key; these tests send no request.
const KEY = Buffer.alloc(64, 7).toString('base64');
const base = { accountname: 'acct', accountkey: KEY, container: 'registry' };

function expectParameterError(fn: () => unknown, parameter: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(hasErrorCode(err, ErrorCode.InvalidParameter), `expected InvalidParameterError, got ${String(err)}`);
    assert.match((err as Error).message, parameter);
    assert.match((err as Error).message, /^azure: /);
    return true;
  });
}

describe('azure: factory and parameters', () => {
  it("is registered as azure and takes distribution's parameter names, any case, values as strings", () => {
    const driver = createDriver('azure', {
      AccountName: 'acct',
      ACCOUNTKEY: KEY,
      container: 'registry',
      rootdirectory: '/reg/',
      copy_status_poll_max_retry: '7',
      copy_status_poll_delay: '250ms',
    });
    assert.ok(driver instanceof AzureDriver);
    assert.equal(driver.containerName, 'registry');
    assert.equal(driver.blobName('/docker/registry/v2/x'), 'reg/docker/registry/v2/x');
    assert.equal(driver.copyStatusPollMaxRetry, 7);
    assert.equal(driver.copyStatusPollDelayMs, 250);
    assert.equal(driver.authentication, 'shared key');
    assert.equal(driver.containerClient.url, 'https://acct.blob.core.windows.net/registry');
  });

  it('defaults as distribution does: realm core.windows.net, 5 polls 100 ms apart (0 means the default), 4 MiB blocks', () => {
    const driver = azureDriverFactory({ ...base, copy_status_poll_max_retry: 0 });
    assert.equal(driver.copyStatusPollMaxRetry, 5);
    assert.equal(driver.copyStatusPollDelayMs, 100);
    assert.equal(driver.blockSize, DEFAULT_BLOCK_SIZE);
    assert.equal(driver.rootDirectory, '');
    assert.equal(azureDriverFactory({ ...base, copy_status_poll_max_retry: -1 }).copyStatusPollMaxRetry, -1);
  });

  it('builds the endpoint from realm, or takes serviceurl as given (Azurite, sovereign clouds)', () => {
    assert.equal(azureDriverFactory({ ...base, realm: 'core.chinacloudapi.cn' }).containerClient.url, 'https://acct.blob.core.chinacloudapi.cn/registry');
    const azurite = azureDriverFactory({ ...base, serviceurl: 'http://127.0.0.1:10000/acct' });
    assert.equal(azurite.containerClient.url, 'http://127.0.0.1:10000/acct/registry');
  });

  it("accepts newer distribution's max_retries / retry_delay names for the copy polling", () => {
    const driver = azureDriverFactory({ ...base, max_retries: 2, retry_delay: '1s' });
    assert.equal(driver.copyStatusPollMaxRetry, 2);
    assert.equal(driver.copyStatusPollDelayMs, 1000);
  });

  it('authenticates with a connection string: account key, or SAS (then without redirect URLs)', async () => {
    const keyed = azureDriverFactory({
      container: 'c',
      connectionstring: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net`,
    });
    assert.equal(keyed.authentication, 'connection string (shared key)');
    assert.equal(keyed.containerClient.url, 'https://acct.blob.core.windows.net/c');
    const sas = azureDriverFactory({
      container: 'c',
      connectionstring: 'BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=sco&sp=rl&sig=abc',
    });
    assert.equal(sas.authentication, 'connection string (SAS)');
    assert.equal(await sas.redirectURL('/x'), null);
    const dev = azureDriverFactory({ container: 'c', connectionstring: 'UseDevelopmentStorage=true' });
    assert.match(dev.containerClient.url, /^http:\/\/127\.0\.0\.1:10000\/devstoreaccount1\/c$/);
  });

  it('builds token credentials: client_secret, default_credentials (no account key), shared_key', () => {
    const secret = azureDriverFactory({
      accountname: 'acct',
      container: 'c',
      credentials: { type: 'client_secret', clientid: 'id', tenantid: 'tenant', secret: 's' },
    });
    assert.equal(secret.authentication, 'client secret');
    assert.equal(
      azureDriverFactory({ accountname: 'acct', container: 'c', credentials: { type: 'default_credentials' } }).authentication,
      'default credentials',
    );
    assert.equal(azureDriverFactory({ accountname: 'acct', container: 'c', credentials: { Type: 'default' } }).authentication, 'default credentials');
    assert.equal(azureDriverFactory({ accountname: 'acct', container: 'c' }).authentication, 'default credentials');
    assert.equal(azureDriverFactory({ ...base, credentials: { type: 'shared_key' } }).authentication, 'shared key');
  });

  it('rejects bad parameters with typed errors naming the parameter', () => {
    expectParameterError(() => azureDriverFactory({ ...base, container: '' }), /container/);
    expectParameterError(() => azureDriverFactory({ accountkey: KEY, container: 'c' }), /accountname/);
    expectParameterError(() => azureDriverFactory({ ...base, accountkey: undefined, credentials: { type: 'shared_key' } }), /accountkey/);
    expectParameterError(() => azureDriverFactory({ ...base, credentials: { type: 'password' } }), /credentials\.type/);
    expectParameterError(() => azureDriverFactory({ ...base, credentials: 'client_secret' }), /credentials/);
    expectParameterError(() => azureDriverFactory({ ...base, credentials: { type: 'client_secret', clientid: 'id', tenantid: 't' } }), /credentials\.secret/);
    expectParameterError(() => azureDriverFactory({ ...base, copy_status_poll_max_retry: -2 }), /copy_status_poll_max_retry/);
    expectParameterError(() => azureDriverFactory({ ...base, copy_status_poll_delay: 'soon' }), /copy_status_poll_delay/);
    expectParameterError(() => azureDriverFactory({ ...base, blocksize: 0 }), /blocksize/);
    expectParameterError(() => azureDriverFactory({ ...base, uploadconcurrency: 'many' }), /uploadconcurrency/);
    expectParameterError(() => azureDriverFactory({ ...base, serviceurl: 'not a url' }), /serviceurl/);
    expectParameterError(() => azureDriverFactory({ container: 'c', connectionstring: 'nonsense' }), /connectionstring/);
    expectParameterError(() => new AzureDriver({ container: 'c', accountName: 'a', accountKey: KEY, blockSize: 5000 * 1024 * 1024 }), /parameter blockSize:/);
  });
});
