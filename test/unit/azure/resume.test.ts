/**
 * Resuming from another OS process: everything a writer needs is in Azure (the uncommitted
 * blocks and their ids), so a process that closed, exited or died leaves an upload that this one
 * continues.
 */
import assert from 'node:assert/strict';
import { KiB, MiB, isPathNotFound } from '@stowage/core';
import { AzureDriver } from '@stowage/azure';
import { pattern, runNodeScript, sha256, stageUploadSnippet } from '../../helpers/child-process';
import { blocksOf, useAzurite } from './helpers';

const DRIVER_MODULE = require.resolve('@stowage/azure');

/** A child script with an AzureDriver over `options` as `driver`. */
function childScript(options: object, body: string): string {
  return `
    const { AzureDriver } = require(${JSON.stringify(DRIVER_MODULE)});
    const driver = new AzureDriver(${JSON.stringify(options)});
    (async () => {
      ${body}
    })().catch((err) => { console.error(err); process.exit(3); });
  `;
}

describe('azure: resume from another process', function () {
  this.timeout(180_000);
  const azurite = useAzurite();

  it('a child process writes 7 MiB in 3 chunks, closes and exits; this one appends, commits, and the sha256 matches', async () => {
    const options = azurite.options();
    const path = '/docker/registry/v2/repositories/app/_uploads/6f1c/data';
    const chunks = [3 * MiB, 3 * MiB, 1 * MiB];
    const child = await runNodeScript(childScript(options, stageUploadSnippet(path, chunks)));
    assert.equal(child.code, 0, `child failed: ${child.stderr}`);
    assert.equal(child.stdout.trim(), String(7 * MiB));

    const driver = new AzureDriver(options);
    await assert.rejects(driver.stat(path), isPathNotFound, 'nothing visible before commit');
    const writer = await driver.writer(path, true);
    assert.equal(writer.size, 7 * MiB, 'the size the child wrote, from the block list');
    const tail = pattern('upload', 7 * MiB, 2 * MiB + 5);
    await writer.write(tail);
    await writer.commit();
    assert.equal((await driver.stat(path)).size, 9 * MiB + 5);
    assert.equal(sha256(await driver.getContent(path)), sha256(pattern('upload', 0, 9 * MiB + 5)));
    assert.deepEqual(await driver.leftovers('/'), []);
    await driver.delete('/docker');
  });

  it('a child process killed with blocks in flight leaves a prefix of what it wrote, which this one resumes and commits', async () => {
    const options = azurite.options({ blockSize: 256 * KiB, uploadConcurrency: 4 });
    const path = '/killed/upload';
    const child = await runNodeScript(
      childScript(
        options,
        `
        const writer = await driver.writer(${JSON.stringify(path)}, false);
        for (let offset = 0; ; offset += 100000) {
          await writer.write(pattern('killed', offset, 100000));
          console.log(offset + 100000);
          // Die mid-stream, with blocks still being staged: no close, no flush.
          if (offset + 100000 >= 4 * 1048576) process.kill(process.pid, 'SIGKILL');
        }
      `,
      ),
    );
    assert.equal(child.code, null, `the child should have died by SIGKILL: ${child.stderr}`);
    const acknowledged = Number(child.stdout.trim().split('\n').pop());
    assert.ok(acknowledged >= 4 * MiB);
    const staged = await blocksOf(azurite.container, new AzureDriver(options).blobName(path));
    assert.ok(staged.uncommitted.length > 0, 'some blocks reached Azure');

    const driver = new AzureDriver(options);
    const writer = await driver.writer(path, true);
    // Only whole blocks survive, in an unbroken run from the start: the buffered tail and any
    // block whose predecessor never arrived are not part of the upload.
    assert.equal(writer.size % (256 * KiB), 0, `resumed at ${writer.size}, not a whole number of blocks`);
    assert.ok(writer.size <= acknowledged, `resumed at ${writer.size}, past the ${acknowledged} bytes written`);
    const total = 5 * MiB + 17;
    await writer.write(pattern('killed', writer.size, total - writer.size));
    await writer.commit();
    assert.equal(sha256(await driver.getContent(path)), sha256(pattern('killed', 0, total)));
    assert.deepEqual(await driver.leftovers('/'), []);
    await driver.delete(path);
  });

  it('an upload a child process left is invisible here, and purgeUploads here removes it once stale', async () => {
    const options = azurite.options({ blockSize: 64 * KiB });
    const path = '/abandoned/upload';
    const child = await runNodeScript(
      childScript(
        options,
        `
        const writer = await driver.writer(${JSON.stringify(path)}, false);
        await writer.write(pattern('abandoned', 0, 300 * 1024));
        await writer.close();
      `,
      ),
    );
    assert.equal(child.code, 0, child.stderr);
    const driver = new AzureDriver(options);
    assert.deepEqual(await driver.list('/'), [], 'nothing listed');
    assert.equal(await driver.purgeUploads(new Date(Date.now() - 60_000)), 0, 'not stale yet');
    assert.equal((await driver.writer(path, true)).size, 300 * KiB);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await driver.purgeUploads(new Date()), 1);
    await assert.rejects(driver.writer(path, true), isPathNotFound);
    assert.deepEqual(await driver.leftovers('/'), []);
  });
});
