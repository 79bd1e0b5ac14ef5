import assert from 'node:assert/strict';
import { MiB } from '@stowage/core';
import { OssDriver } from '@stowage/oss';
import { FaultyProxy, useLocalOss } from './helpers';

const STS_TOKEN = 'CAISstowage-sts-token-for-tests';

describe('oss: credentials and signatures', () => {
  describe('an STS credential (the server requires x-oss-security-token)', () => {
    const oss = useLocalOss({ stsToken: STS_TOKEN });

    for (const authorizationVersion of ['v1', 'v4'] as const) {
      it(`requests and signed URLs carry the token (${authorizationVersion.toUpperCase()})`, async () => {
        const driver = await oss.driver({ authorizationVersion });
        await driver.putContent('/f', Buffer.from('content'));
        assert.equal((await driver.getContent('/f')).toString(), 'content');
        const url = await driver.redirectURL('/f');
        assert.ok(url?.includes(authorizationVersion === 'v4' ? 'x-oss-security-token=' : 'security-token='), url ?? 'null');
        const fetched = await fetch(url!);
        assert.equal(fetched.status, 200);
        assert.equal(await fetched.text(), 'content');
      });
    }

    it('without the token every request is refused (StorageDriverError with the 403)', async () => {
      const options = await oss.options();
      const driver = new OssDriver({ ...options, stsToken: undefined });
      await assert.rejects(driver.putContent('/f', Buffer.from('x')), (err: Error & { code: string; cause: { status: number } }) => {
        assert.equal(err.code, 'ERR_STORAGE_DRIVER');
        assert.equal(err.cause.status, 403);
        return true;
      });
    });
  });

  describe('plain access keys', () => {
    const oss = useLocalOss();

    for (const authorizationVersion of ['v1', 'v4'] as const) {
      it(`a wrong secret is SignatureDoesNotMatch, a wrong key id InvalidAccessKeyId (${authorizationVersion.toUpperCase()})`, async () => {
        const good = await oss.options({ authorizationVersion });
        for (const [override, code] of [
          [{ accessKeySecret: 'not-the-secret' }, 'SignatureDoesNotMatch'],
          [{ accessKeyId: 'NOTTHEKEY' }, 'InvalidAccessKeyId'],
        ] as const) {
          const driver = new OssDriver({ ...good, ...override });
          await assert.rejects(driver.putContent('/f', Buffer.from('x')), (err: Error & { code: string; cause: { code: string } }) => {
            assert.equal(err.code, 'ERR_STORAGE_DRIVER');
            assert.equal(err.cause.code, code);
            return true;
          });
        }
      });
    }

    it('a redirect URL expires when asked to', async () => {
      const driver = await oss.driver();
      await driver.putContent('/f', Buffer.from('content'));
      const url = await driver.redirectURL('/f', { expiresIn: 1 });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      assert.equal((await fetch(url!)).status, 403);
    });
  });

  describe('server-side encryption headers', () => {
    const oss = useLocalOss();
    let proxy: FaultyProxy | undefined;
    afterEach(async () => {
      await proxy?.stop();
      proxy = undefined;
    });

    it('every request that creates an object asks for KMS with the key id; parts and reads do not', async () => {
      proxy = new FaultyProxy(oss.server.port);
      await proxy.start();
      const driver = await oss.driver({
        endpoint: proxy.endpoint,
        encrypt: true,
        encryptionKeyId: 'kms-key-1',
        chunkSize: 100 * 1024,
        multipartCopyThresholdSize: MiB,
      });
      await driver.putContent('/small', Buffer.from('small'));
      const writer = await driver.writer('/big', false);
      await writer.write(Buffer.alloc(250 * 1024, 1));
      await writer.close();
      const resumed = await driver.writer('/big', true);
      await resumed.write(Buffer.alloc(10, 2));
      await resumed.commit();
      // Encrypted moves never use CopyObject (ali-oss's copy() cannot carry these headers).
      await driver.move('/small', '/moved-small');
      await driver.putContent('/empty', Buffer.alloc(0));
      await driver.move('/empty', '/moved-empty');
      assert.equal((await driver.getContent('/moved-small')).toString(), 'small');
      assert.equal((await driver.stat('/moved-empty')).size, 0);
      assert.equal((await driver.stat('/big')).size, 250 * 1024 + 10);

      const creating = proxy.log.filter(
        (r) => (r.method === 'PUT' && !r.url.includes('partNumber=')) || (r.method === 'POST' && /[?&]uploads(=|&|$)/.test(r.url)),
      );
      assert.ok(creating.length >= 6, `creating requests: ${creating.map((r) => `${r.method} ${r.url}`).join(', ')}`);
      for (const r of creating) {
        assert.equal(r.headers['x-oss-server-side-encryption'], 'KMS', `${r.method} ${r.url}`);
        assert.equal(r.headers['x-oss-server-side-encryption-key-id'], 'kms-key-1', `${r.method} ${r.url}`);
        assert.equal(r.headers['x-oss-copy-source'], undefined, `no CopyObject: ${r.method} ${r.url}`);
      }
      const others = proxy.log.filter((r) => !creating.includes(r));
      assert.ok(
        others.some((r) => r.url.includes('partNumber=')),
        'parts were uploaded or copied',
      );
      for (const r of others) assert.equal(r.headers['x-oss-server-side-encryption'], undefined, `${r.method} ${r.url}`);
    });
  });
});
