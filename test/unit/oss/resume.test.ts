import assert from 'node:assert/strict';
import { MiB } from '@stowage/core';
import { OssDriver } from '@stowage/oss';
import { pattern, runNodeScript, sha256, stageUploadSnippet } from '../../helpers/child-process';
import { useLocalOss } from './helpers';

/** The built driver, so the child process runs the very same code. */
const OSS_MODULE = require.resolve('@stowage/oss');

describe('oss: resume from another OS process', () => {
  const oss = useLocalOss();

  // 10 MiB: all 7 MiB stay in the tail object. 1 MiB: six parts uploaded plus a full last part kept as the tail.
  for (const chunksize of [10 * MiB, 1 * MiB]) {
    it(`a child writes 7 MiB in 3 chunks, closes and exits; this process appends and commits (chunksize ${chunksize / MiB} MiB)`, async () => {
      const options = await oss.options({ rootDirectory: '/registry', chunkSize: chunksize });
      const path = '/docker/registry/v2/repositories/demo/_uploads/0123/data';
      const chunks = [3 * MiB, 3 * MiB + 1, MiB - 1];
      const child = await runNodeScript(`
        (async () => {
          const { OssDriver } = require(${JSON.stringify(OSS_MODULE)});
          const driver = new OssDriver(${JSON.stringify(options)});
          ${stageUploadSnippet(path, chunks)}
        })().catch((err) => { console.error(err); process.exit(3); });
      `);
      // The child exits by itself: nothing of the driver keeps its event loop alive after close().
      assert.equal(child.code, 0, child.stderr);
      assert.deepEqual(child.stdout.trim().split('\n'), [String(7 * MiB)]);

      const driver = new OssDriver(options);
      await assert.rejects(driver.stat(path), { code: 'ERR_PATH_NOT_FOUND' }, 'nothing visible before commit');
      assert.notDeepEqual(await driver.leftovers(path), [], 'the upload is staged');
      const writer = await driver.writer(path, true);
      assert.equal(writer.size, 7 * MiB);
      await writer.write(pattern('upload', 7 * MiB, 2 * MiB + 9));
      await writer.commit();
      assert.equal(writer.size, 9 * MiB + 9);
      assert.equal((await driver.stat(path)).size, 9 * MiB + 9);
      assert.equal(sha256(await driver.getContent(path)), sha256(pattern('upload', 0, 9 * MiB + 9)));
      assert.deepEqual(await driver.leftovers(path), []);
      assert.deepEqual(oss.keys(driver.bucket), [`registry${path}`], 'only the committed object is left');
    });
  }
});
