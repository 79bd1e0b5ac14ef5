import assert from 'node:assert/strict';
import { createDriver } from '@stowage/core';
import { layout, purgeOldUploads } from '@stowage/example-registry';
import { call, startTestRegistry, startUpload } from './helpers';

describe('registry upload purging', () => {
  it('removes uploads started before the cut-off (staged data and folder) and keeps newer ones; a dry run removes nothing', async () => {
    const driver = createDriver('inmemory', {});
    const registry = await startTestRegistry('inmemory', { driver });
    try {
      const old = await startUpload(registry, 'purge/me');
      const fresh = await startUpload(registry, 'purge/me');
      await call(registry, 'PATCH', old, { body: Buffer.alloc(1000, 1) });
      const oldId = old.slice(old.lastIndexOf('/') + 1);
      await driver.putContent(layout.uploadStartedAtPath('purge/me', oldId), Buffer.from(new Date(Date.now() - 3 * 3600_000).toISOString()));
      const cutOff = new Date(Date.now() - 3600_000);

      assert.deepEqual(await purgeOldUploads(driver, cutOff, true), { stagedUploads: 0, uploadFolders: 1 });
      assert.equal((await call(registry, 'GET', old)).status, 204, 'a dry run removes nothing');

      const result = await purgeOldUploads(driver, cutOff, false);
      assert.equal(result.uploadFolders, 1);
      assert.equal((await call(registry, 'GET', old)).status, 404);
      await assert.rejects(driver.writer(layout.uploadDataPath('purge/me', oldId), true), { code: 'ERR_PATH_NOT_FOUND' }, 'its staged data is gone too');
      assert.equal((await call(registry, 'GET', fresh)).status, 204);
    } finally {
      await registry.close();
    }
  });
});
