import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDriver } from '@stowage/core';
import '@stowage/inmemory';
import { registryUpload } from '../../examples/registry-upload';

describe('examples: registry-upload', () => {
  const expected = Buffer.from('first chunk, second chunk, third and last chunk');
  const digest = createHash('sha256').update(expected).digest('hex');

  it('stores the blob at its content address on the in-memory driver', async () => {
    const driver = createDriver('inmemory', {});
    assert.deepEqual(await registryUpload(driver), { digest: `sha256:${digest}`, size: expected.length });
    await assert.rejects(driver.stat('/docker/registry/v2/repositories/library/demo/_uploads/6f1c0c2e/data'));
  });

  it("writes the blob where distribution's filesystem driver would", async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-example-test-'));
    try {
      await registryUpload(createDriver('filesystem', { rootdirectory: root }));
      const onDisk = await readFile(join(root, 'docker/registry/v2/blobs/sha256', digest.slice(0, 2), digest, 'data'));
      assert.ok(onDisk.equals(expected));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
