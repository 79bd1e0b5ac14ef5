/**
 * Fencing cases the conformance suite cannot reach, against Azurite: a fenced writer's block that
 * lands after a newer writer resumed the upload (the check-then-stage window), and a writer over
 * content put in one piece that is dropped right after opening.
 */
import assert from 'node:assert/strict';
import { ErrorCode, KiB, hasErrorCode, isUploadFenced } from '@stowage/core';
import { AzureDriver } from '@stowage/azure';
import { dataBlockId, parseBlockId, type ParsedBlockId } from '@stowage/azure/internal';
import { pattern, sha256 } from '../../helpers/child-process';
import { blocksOf, useAzurite } from './helpers';

/** The open markers on a blob, newest session first. */
async function markers(azurite: ReturnType<typeof useAzurite>, blobName: string): Promise<ParsedBlockId[]> {
  const { uncommitted } = await blocksOf(azurite.container, blobName);
  return uncommitted
    .map((id) => parseBlockId(id))
    .filter((b): b is ParsedBlockId => b?.kind === 'o')
    .sort((a, b) => b.session.gen - a.session.gen || (a.session.nonce < b.session.nonce ? 1 : -1));
}

describe('azure: fencing against Azurite', function () {
  const azurite = useAzurite();

  it("a fenced writer's block that lands after a newer writer resumed the upload is never content, for any later writer", async () => {
    const driver = azurite.driver({ blockSize: 16 * KiB });
    const path = '/fencing/stray';
    const blobName = driver.blobName(path);
    const opener = await driver.writer(path, false);
    await opener.write(pattern('base', 0, 40 * KiB));
    await opener.close();

    const fenced = await driver.writer(path, true);
    const live = await new AzureDriver(driver.options).writer(path, true);
    assert.equal(live.size, 40 * KiB);
    const [liveMarker, fencedMarker] = await markers(azurite, blobName);
    assert.equal(liveMarker!.session.gen, fencedMarker!.session.gen + 1, 'the later open took the next generation');
    // The fenced writer's block that passed its check just before `live` opened, landing now.
    await azurite.container
      .getBlockBlobClient(blobName)
      .stageBlock(dataBlockId(fencedMarker!.upload, liveMarker!.seq, fencedMarker!.session), pattern('stray', 0, 16 * KiB), 16 * KiB);

    // The fenced writer itself stages nothing more: its next block fails the check.
    try {
      await fenced.write(pattern('fenced', 0, 20 * KiB));
    } catch (err) {
      assert.ok(isUploadFenced(err), String(err));
    }
    await assert.rejects(fenced.commit(), (err) => hasErrorCode(err, ErrorCode.UploadFenced));
    const strays = (await blocksOf(azurite.container, blobName)).uncommitted.filter(
      (id) => parseBlockId(id)?.kind === 'd' && parseBlockId(id)!.session.nonce === fencedMarker!.session.nonce,
    );
    assert.equal(strays.length, 1, 'only the injected stray block of the fenced session is on the blob');

    // `live` closes with nothing of its own; a third process resumes `live`'s chain, not the stray.
    await live.close();
    const third = await new AzureDriver(driver.options).writer(path, true);
    assert.equal(third.size, 40 * KiB, 'the stray block past where the newer session started is not content');
    await third.write(pattern('third', 0, 10 * KiB));
    await third.commit();
    assert.equal(sha256(await driver.getContent(path)), sha256(Buffer.concat([pattern('base', 0, 40 * KiB), pattern('third', 0, 10 * KiB)])));
    assert.deepEqual(await driver.leftovers(path), []);
    await driver.delete(path);
  });

  it('an append to content put in one piece stages the whole copy before its marker: a writer that resumes a dropped one starts at the full size', async () => {
    const driver = azurite.driver({ blockSize: 16 * KiB });
    const path = '/fencing/copy';
    const content = pattern('one-piece', 0, 40 * KiB);
    await driver.putContent(path, content);
    const dropped = await driver.writer(path, true);
    assert.equal(dropped.size, content.length);
    await dropped.write(Buffer.from('never closed'));
    // `dropped` is abandoned here, as by a process that died.
    const resumed = await new AzureDriver(driver.options).writer(path, true);
    assert.equal(resumed.size, content.length, 'the copy is in the upload in full, its 8 KiB tail included');
    await resumed.write(Buffer.from('more'));
    await resumed.commit();
    assert.equal(sha256(await driver.getContent(path)), sha256(Buffer.concat([content, Buffer.from('more')])));
    await assert.rejects(dropped.commit(), (err) => hasErrorCode(err, ErrorCode.UploadFenced));
    assert.deepEqual(await driver.leftovers(path), []);
    await driver.delete(path);
  });
});
