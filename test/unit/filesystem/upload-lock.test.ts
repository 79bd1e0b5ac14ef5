/**
 * The upload lock (a symlink naming its owner's pid and host) as other processes leave it: held by
 * a live process (wait), by a process that died (break at once), by another host (wait while it
 * is refreshed, break once it is 30 s old).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lutimes, mkdir, readdir, symlink, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { STAGING_DIR_NAME } from '@stowage/filesystem';
import { useTempRoot } from './helpers';

const THIS_HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** A pid that ran on this host and no longer does. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('filesystem: the upload lock left by other processes', function () {
  this.timeout(30_000);
  const tmp = useTempRoot();

  /** Plants a lock for path `/p` as another process would leave it. */
  async function plantLock(pid: number, host: string, ageMs = 0): Promise<string> {
    const dir = join(tmp.root, STAGING_DIR_NAME, 'p~upload');
    await mkdir(dir, { recursive: true });
    const lock = join(dir, 'lock');
    await symlink(`stowage-lock.${pid}.${host}`, lock);
    if (ageMs > 0) {
      const then = new Date(Date.now() - ageMs);
      await lutimes(lock, then, then);
    }
    return lock;
  }

  /** Starts writer('/p') and reports whether it has finished. */
  function openWriter(driver = tmp.driver()) {
    let done = false;
    const opening = driver.writer('/p', false).then((writer) => {
      done = true;
      return writer;
    });
    return { opening, done: () => done };
  }

  it('a lock whose process on this host has died is broken at once', async () => {
    await plantLock(deadPid(), THIS_HOST);
    const writer = await tmp.driver().writer('/p', false);
    await writer.write(Buffer.from('x'));
    await writer.commit();
    assert.deepEqual(await readdir(join(tmp.root, STAGING_DIR_NAME)), [], 'the broken lock is gone with the upload');
  });

  it('a lock held by a live process is waited for, and taken once released', async () => {
    const lock = await plantLock(process.pid, THIS_HOST);
    const { opening, done } = openWriter();
    await sleep(300);
    assert.equal(done(), false, 'writer() went ahead while a live process held the lock');
    await unlink(lock);
    const writer = await opening;
    await writer.cancel();
  });

  it("another host's lock is waited for while fresh, and broken once 30 s old", async () => {
    const fresh = await plantLock(12345, 'otherhost');
    const { opening, done } = openWriter();
    await sleep(300);
    assert.equal(done(), false, "writer() broke another host's fresh lock");
    // The other host stops refreshing it: it ages past 30 s.
    const then = new Date(Date.now() - 31_000);
    await lutimes(fresh, then, then);
    const writer = await opening;
    await writer.cancel();

    await plantLock(12345, 'otherhost', 60_000);
    await (await tmp.driver().writer('/p', false)).cancel();
  });
});
