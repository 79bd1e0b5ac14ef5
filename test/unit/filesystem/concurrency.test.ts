import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MiB, createDriver, isPathNotFound, isUploadFenced, readAll, type FileWriter } from '@stowage/core';
import { STAGING_DIR_NAME, type FilesystemDriver } from '@stowage/filesystem';
import { pattern, useTempRoot } from './helpers';

/** Replaces fs.promises[name] with a slowed-down version that records how many calls overlap. */
function instrument<K extends 'stat' | 'rename'>(name: K): { peak(): number; restore(): void } {
  const original = fs.promises[name] as (...args: unknown[]) => Promise<unknown>;
  let active = 0;
  let peak = 0;
  (fs.promises as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
    active++;
    peak = Math.max(peak, active);
    try {
      await new Promise((resolve) => setTimeout(resolve, 3));
      return await original.apply(fs.promises, args);
    } finally {
      active--;
    }
  };
  return {
    peak: () => peak,
    restore: () => {
      (fs.promises as unknown as Record<string, unknown>)[name] = original;
    },
  };
}

describe('filesystem: concurrency', function () {
  this.timeout(60_000);
  const tmp = useTempRoot();

  it('maxthreads bounds how many filesystem operations run at once', async () => {
    const driver = tmp.driver({ maxThreads: 4 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => driver.putContent(`/f${i}`, Buffer.from(String(i)))));
    const stats = instrument('stat');
    try {
      await Promise.all(Array.from({ length: 60 }, (_, i) => driver.stat(`/f${i % 8}`)));
    } finally {
      stats.restore();
    }
    assert.equal(stats.peak(), 4);

    const renames = instrument('rename');
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => driver.putContent(`/p/${i}`, Buffer.from(String(i)))));
    } finally {
      renames.restore();
    }
    assert.equal(renames.peak(), 4);
  });

  it('maxthreads from config.yml bounds operations too (25 at least, as in distribution)', async () => {
    const driver = createDriver('filesystem', { rootdirectory: tmp.root, maxthreads: '30', synconcommit: false });
    await driver.putContent('/f', Buffer.from('x'));
    const stats = instrument('stat');
    try {
      await Promise.all(Array.from({ length: 100 }, () => driver.stat('/f')));
    } finally {
      stats.restore();
    }
    assert.equal(stats.peak(), 30);
  });

  it('concurrent putContent on one path leaves exactly one whole version and no temp files', async () => {
    const driver = tmp.driver();
    const versions = Array.from({ length: 16 }, (_, i) => pattern(`v${i}`, 0, MiB + i));
    await Promise.all(versions.map((version) => driver.putContent('/one/path', version)));
    const content = await driver.getContent('/one/path');
    assert.ok(
      versions.some((version) => version.equals(content)),
      'content is not one of the versions',
    );
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('readers keep the version they opened while putContent replaces the file', async () => {
    const driver = tmp.driver();
    const first = pattern('first', 0, 4 * MiB);
    await driver.putContent('/r', first);
    const reader = await driver.reader('/r');
    await driver.putContent('/r', pattern('second', 0, MiB));
    assert.ok((await readAll(reader)).equals(first));
    assert.ok((await driver.getContent('/r')).equals(pattern('second', 0, MiB)));
  });

  it('creating files races safely with pruning the directory they go into', async () => {
    const driver = tmp.driver();
    for (let round = 0; round < 60; round++) {
      await driver.putContent('/race/dir/old', Buffer.from('old'));
      const upload = await driver.writer('/race/stage/a');
      await upload.write(Buffer.from('a'));
      // Deleting the last file prunes /race/dir while putContent renames into it; cancelling the
      // last upload prunes its staging directory while another writer opens one there.
      const [, , , second] = await Promise.all([
        driver.delete('/race/dir/old'),
        driver.putContent('/race/dir/new', Buffer.from(`new ${round}`)),
        upload.cancel(),
        driver.writer('/race/stage/b'),
      ]);
      await second.write(Buffer.from('b'));
      await second.commit();
      assert.equal((await driver.getContent('/race/dir/new')).toString(), `new ${round}`);
      assert.equal((await driver.getContent('/race/stage/b')).toString(), 'b');
      await driver.delete('/race');
    }
    assert.deepEqual(await driver.list('/'), []);
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('survives a hostile pruner removing the directory between its mkdir and its create, again and again', async () => {
    const driver = tmp.driver();
    /** Removes `dir` whenever it is empty, up to `times` times, until told to stop. */
    const pruner = (dir: string, times: number) => {
      let stop = false;
      let removed = 0;
      const running = (async () => {
        while (!stop && removed < times) {
          try {
            await fs.promises.rmdir(dir);
            removed++;
          } catch {
            // not there yet, or not empty
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      return async () => {
        stop = true;
        await running;
        return removed;
      };
    };
    // Long enough that the upload is staged in mirrored directories, which get pruned.
    const longName = 'n'.repeat(210);
    let disturbed = 0;
    for (let round = 0; round < 40; round++) {
      const stopCommitted = pruner(join(tmp.root, 'hostile', 'dir'), 4);
      const stopStaging = pruner(join(tmp.root, STAGING_DIR_NAME, 'hostile', 'stage', longName), 4);
      let writer: FileWriter;
      try {
        await driver.putContent('/hostile/dir/file', Buffer.from(`round ${round}`));
        writer = await driver.writer(`/hostile/stage/${longName}/upload`);
        await writer.write(Buffer.from('u'));
      } finally {
        disturbed += (await stopCommitted()) + (await stopStaging());
      }
      await writer.commit();
      assert.equal((await driver.getContent('/hostile/dir/file')).toString(), `round ${round}`);
      await driver.delete('/hostile');
    }
    assert.ok(disturbed > 0, 'the pruner never got in the way, so this test proved nothing');
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('writer(path, false) fences an open writer of this process: its commit fails and publishes nothing', async () => {
    const driver = tmp.driver();
    const stale = await driver.writer('/u');
    await stale.write(Buffer.from('stale'));
    const fresh = await driver.writer('/u', false);
    assert.equal(fresh.size, 0);
    await fresh.write(Buffer.from('fresh!'));
    await assert.rejects(stale.commit(), isUploadFenced);
    await assert.rejects(driver.stat('/u'), isPathNotFound);
    await fresh.close();
    // The path's unfinished upload is the newer one.
    const resumed = await driver.writer('/u', true);
    assert.equal(resumed.size, 6);
    await resumed.commit();
    assert.equal((await driver.getContent('/u')).toString(), 'fresh!');
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('fenced writers that close or cancel fail, leave nothing behind and do not touch the newer upload', async () => {
    const driver = tmp.driver();
    const closing = await driver.writer('/q/a');
    await closing.write(Buffer.from('1'));
    const cancelling = await driver.writer('/q/a', true);
    assert.equal(cancelling.size, 1, 'the resumed writer continues from the bytes of the one it fenced');
    await cancelling.write(Buffer.from('2'));
    const newest = await driver.writer('/q/a', false);
    await newest.write(Buffer.from('new'));
    await assert.rejects(closing.close(), isUploadFenced);
    await assert.rejects(closing.write(Buffer.from('x')), isUploadFenced);
    await assert.rejects(cancelling.cancel(), isUploadFenced);
    assert.deepEqual(await driver.leftovers('/'), [`/${STAGING_DIR_NAME}/q~a~upload`]);
    await newest.close();
    const resumed = await tmp.driver().writer('/q/a', true);
    assert.equal(resumed.size, 3);
    await resumed.cancel();
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('purgeUploads removes stale uploads and temp files, spares fresh ones, and prunes staging directories', async () => {
    const driver: FilesystemDriver = tmp.driver();
    const stale = await driver.writer('/deep/stale/upload');
    await stale.write(Buffer.from('old'));
    await stale.close();
    const fresh = await driver.writer('/deep/fresh');
    await fresh.write(Buffer.from('new'));
    await fresh.close();
    // A putContent temp file a crashed process left behind.
    const crashedTemp = join(tmp.root, STAGING_DIR_NAME, 'deep~put~put-0123abcd');
    await writeFile(crashedTemp, 'partial');
    // ... and one of a path too long for a flat name, in a mirrored directory.
    const longDir = join(tmp.root, STAGING_DIR_NAME, 'deep', 'x'.repeat(210));
    await mkdir(longDir, { recursive: true });
    await writeFile(join(longDir, 'y~put-0123abcd'), 'partial');
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const file of [join('deep~stale~upload~upload', 'data'), 'deep~put~put-0123abcd', join('deep', 'x'.repeat(210), 'y~put-0123abcd')]) {
      await utimes(join(tmp.root, STAGING_DIR_NAME, file), hourAgo, hourAgo);
    }
    assert.deepEqual((await driver.leftovers('/deep/put')).length, 1);

    assert.equal(await driver.purgeUploads(new Date(Date.now() - 60_000)), 3);
    assert.deepEqual(await driver.leftovers('/'), [`/${STAGING_DIR_NAME}/deep~fresh~upload`]);
    await assert.rejects(driver.writer('/deep/stale/upload', true), isPathNotFound);
    const resumed = await driver.writer('/deep/fresh', true);
    assert.equal(resumed.size, 3);
    await resumed.cancel();
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('a writer that is resumed counts as fresh for purgeUploads', async () => {
    const driver = tmp.driver();
    const first = await driver.writer('/idle');
    await first.write(Buffer.from('x'));
    await first.close();
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(join(tmp.root, STAGING_DIR_NAME, 'idle~upload', 'data'), hourAgo, hourAgo);
    const resumed = await driver.writer('/idle', true);
    assert.equal(await driver.purgeUploads(new Date(Date.now() - 60_000)), 0);
    await resumed.write(Buffer.from('y'));
    await resumed.commit();
    assert.equal((await driver.getContent('/idle')).toString(), 'xy');
  });

  it('syncOnCommit (the default) still commits and puts the same bytes', async () => {
    const driver = tmp.driver({ syncOnCommit: true });
    await driver.putContent('/s/put', pattern('s', 0, 100_000));
    const writer = await driver.writer('/s/w');
    await writer.write(pattern('w', 0, 70_000));
    await writer.commit();
    assert.ok((await driver.getContent('/s/put')).equals(pattern('s', 0, 100_000)));
    assert.ok((await driver.getContent('/s/w')).equals(pattern('w', 0, 70_000)));
  });
});
