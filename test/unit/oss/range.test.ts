import assert from 'node:assert/strict';
import { readAll } from '@stowage/core';
import { OssStore, ossDriverInternals } from '@stowage/oss/internal';
import { useLocalOss } from './helpers';

const CONTENT = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

describe('oss: reads past the end never return the whole object', () => {
  const oss = useLocalOss();

  it('OSS by default answers a Range past the end with 200 and the whole object (the quirk the guard is for)', async () => {
    const driver = await oss.driver();
    await driver.putContent('/f', CONTENT);
    const { res, stream } = await ossDriverInternals(driver).client.getStream('f', { headers: { Range: 'bytes=100-' } });
    assert.equal(res.status, 200);
    assert.deepEqual(await readAll(stream), CONTENT);
  });

  for (const standardRanges of [true, false]) {
    const how = standardRanges ? 'with x-oss-range-behavior: standard (416)' : "with OSS's default behaviour (200 + whole object)";
    it(`readers at or past the end are empty, inside the object exact, ${how}`, async () => {
      const driver = await oss.driver();
      await driver.putContent('/f', CONTENT);
      await driver.putContent('/empty', Buffer.alloc(0));
      const store = new OssStore(ossDriverInternals(driver).client, { ...ossDriverInternals(driver).store.settings, standardRanges });
      for (const offset of [0, 1, 50, 99]) {
        assert.deepEqual(await readAll(await store.readFrom('f', offset, {})), CONTENT.subarray(offset), `offset ${offset}`);
      }
      for (const offset of [100, 101, 4096, 1e9]) {
        assert.equal((await readAll(await store.readFrom('f', offset, {}))).length, 0, `offset ${offset} of a 100-byte object`);
      }
      for (const offset of [0, 1, 10]) {
        assert.equal((await readAll(await store.readFrom('empty', offset, {}))).length, 0, `offset ${offset} of an empty object`);
      }
      assert.deepEqual(await store.getRange('f', 10, 20, {}), CONTENT.subarray(10, 20));
      await assert.rejects(store.readFrom('missing', 5, {}), { code: 'NoSuchKey' });
    });
  }

  it("the driver's reader: empty past the end, PathNotFoundError for a missing path at any offset", async () => {
    const driver = await oss.driver();
    await driver.putContent('/f', CONTENT);
    assert.deepEqual(await readAll(await driver.reader('/f', 42)), CONTENT.subarray(42));
    for (const offset of [100, 1000]) assert.equal((await readAll(await driver.reader('/f', offset))).length, 0);
    for (const offset of [0, 100]) await assert.rejects(driver.reader('/missing', offset), { code: 'ERR_PATH_NOT_FOUND', path: '/missing' });
  });
});
