/**
 * Credentials never show: a driver built from config.yml parameters that hold secrets prints none of
 * them through util.inspect (at any depth, hidden fields too), JSON.stringify or String(), and a
 * construction that fails on another parameter names none of them either.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { createDriver, type StorageDriver } from '@stowage/core';
import '@stowage/s3';
import '@stowage/oss';
import '@stowage/swift';
import '@stowage/azure';

// Distinct, searchable values: a leak of any one of them, whole, fails the test.
const SECRETS = {
  s3: { accesskey: 'S3ACCESSKEYVALUE', secretkey: 'S3SECRETKEYVALUE', sessiontoken: 'S3SESSIONTOKENVALUE' },
  oss: { accesskeysecret: 'OSSACCESSKEYSECRETVALUE', ststoken: 'OSSSTSTOKENVALUE' },
  swift: { password: 'SWIFTPASSWORDVALUE', secretkey: 'SWIFTTEMPURLSECRETVALUE', applicationcredentialsecret: 'SWIFTAPPCREDSECRETVALUE' },
  azure: { accountkey: Buffer.from('AZUREACCOUNTKEYVALUE').toString('base64') },
} as const;

const PARAMETERS: Record<keyof typeof SECRETS, Record<string, unknown>> = {
  s3: { region: 'us-east-1', bucket: 'bucket', regionendpoint: 'http://127.0.0.1:1', ...SECRETS.s3 },
  oss: { accesskeyid: 'OSSKEYID', region: 'oss-cn-hangzhou', bucket: 'bucket', endpoint: 'http://localhost:1', pathstyle: true, ...SECRETS.oss },
  swift: { authurl: 'http://127.0.0.1:1/auth/v1.0', username: 'test:tester', container: 'c', ...SECRETS.swift },
  azure: { accountname: 'devstoreaccount1', container: 'c', serviceurl: 'http://127.0.0.1:1/devstoreaccount1', ...SECRETS.azure },
};

function assertNoSecret(text: string, secrets: Record<string, string>, where: string): void {
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(!text.includes(value), `${where} shows ${name}:\n${text}`);
  }
}

describe('drivers keep credentials out of what they show', () => {
  for (const driverName of Object.keys(SECRETS) as (keyof typeof SECRETS)[]) {
    describe(driverName, () => {
      let driver: StorageDriver;
      before(() => {
        driver = createDriver(driverName, PARAMETERS[driverName]);
      });
      after(() => (driver as { destroy?: () => void } | undefined)?.destroy?.());

      it('util.inspect shows the driver but no credential, whatever the depth', () => {
        for (const options of [{}, { depth: Infinity, showHidden: true }]) {
          const shown = inspect(driver, options);
          assert.match(shown, new RegExp(`name: '${driverName}'`));
          assert.match(shown, /\[redacted\]/);
          assertNoSecret(shown, SECRETS[driverName], `inspect(${JSON.stringify(options)})`);
        }
      });

      it('JSON.stringify and String show no credential', () => {
        const json = JSON.stringify(driver);
        assert.equal(JSON.parse(json).name, driverName);
        assertNoSecret(json, SECRETS[driverName], 'JSON.stringify');
        assertNoSecret(String(driver), SECRETS[driverName], 'String');
        assertNoSecret(`${inspect({ wrapped: [driver] }, { depth: Infinity })}`, SECRETS[driverName], 'inspect of an object holding the driver');
      });

      it('a bad parameter beside the credentials fails without naming them', () => {
        const bad = { ...PARAMETERS[driverName], chunksize: 'lots', blocksize: 'lots' };
        let caught: unknown;
        try {
          createDriver(driverName, bad);
        } catch (err) {
          caught = err;
        }
        assert.ok(caught instanceof Error, 'an invalid chunksize/blocksize must be refused');
        assert.equal((caught as { code?: string }).code, 'ERR_INVALID_PARAMETER');
        assertNoSecret(`${String(caught)} ${inspect(caught, { depth: Infinity, showHidden: true })}`, SECRETS[driverName], 'the error');
      });
    });
  }
});
