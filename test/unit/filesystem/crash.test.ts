import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MiB } from '@stowage/core';
import { STAGING_DIR_NAME } from '@stowage/filesystem';
import { stageUploadSnippet } from '../../helpers/child-process';
import { pattern, runChild, sha256, useTempRoot } from './helpers';

describe('filesystem: crashes and other processes', function () {
  this.timeout(120_000);
  const tmp = useTempRoot();

  it('a process SIGKILLed mid-upload leaves the committed file whole, and a new writer resumes what it staged', async () => {
    const driver = tmp.driver();
    const path = '/repo/blob';
    const old = pattern('old', 0, 3 * MiB + 17);
    await driver.putContent(path, old);

    // The child appends 256 KiB chunks forever, reporting each completed write, until killed.
    const child = runChild(`
      (async () => {
        const driver = new FilesystemDriver({ rootDirectory: ${JSON.stringify(tmp.root)} });
        const writer = await driver.writer(${JSON.stringify(path)}, false);
        for (let offset = 0; ; offset += 262144) {
          await writer.write(pattern('new', offset, 262144));
          console.log(String(offset + 262144));
        }
      })().catch((err) => { console.error(err); process.exit(3); });
    `);
    let acknowledged = 0;
    for await (const line of child.lines) {
      acknowledged = Number(line);
      if (acknowledged >= 8 * MiB) {
        child.kill('SIGKILL');
        break;
      }
    }
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL', `child ended on its own: ${exit.stderr}`);

    // Committed content is untouched by the dead upload.
    assert.equal(sha256(await driver.getContent(path)), sha256(old));
    assert.equal((await driver.stat(path)).size, old.length);

    // Every acknowledged byte was staged (possibly more: the write in flight at the kill).
    const resumed = await tmp.driver().writer(path, true);
    assert.ok(resumed.size >= acknowledged, `resumed at ${resumed.size}, but ${acknowledged} bytes were acknowledged`);
    const tail = pattern('tail', 0, MiB + 3);
    await resumed.write(tail);
    await resumed.commit();
    const expected = Buffer.concat([pattern('new', 0, resumed.size - tail.length), tail]);
    assert.equal(sha256(await driver.getContent(path)), sha256(expected));
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('a process SIGKILLed during a stream of putContent leaves one whole version; purgeUploads clears its temp file', async () => {
    const driver = tmp.driver();
    const path = '/manifests/latest';
    const versions = ['a', 'b', 'c'].map((seed) => pattern(seed, 0, 2 * MiB + 5));
    await driver.putContent(path, versions[0]!);

    const child = runChild(`
      (async () => {
        const driver = new FilesystemDriver({ rootDirectory: ${JSON.stringify(tmp.root)}, syncOnCommit: false });
        const versions = ['a', 'b', 'c'].map((seed) => pattern(seed, 0, 2 * 1048576 + 5));
        for (let i = 0; ; i++) {
          await driver.putContent(${JSON.stringify(path)}, versions[i % 3]);
          if (i === 20) console.log('busy');
        }
      })().catch((err) => { console.error(err); process.exit(3); });
    `);
    for await (const line of child.lines) {
      if (line === 'busy') {
        // Let it run into the middle of some later write before killing it.
        await new Promise((resolve) => setTimeout(resolve, 37));
        child.kill('SIGKILL');
        break;
      }
    }
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL', `child ended on its own: ${exit.stderr}`);

    const content = await driver.getContent(path);
    assert.ok(
      versions.some((version) => version.equals(content)),
      `content (${content.length} bytes) is none of the versions written`,
    );
    // Whatever the child had staged is invisible, and purgeUploads takes it away.
    assert.deepEqual(await driver.list('/'), ['/manifests']);
    const staged = await driver.leftovers('/');
    assert.equal(await driver.purgeUploads(new Date(Date.now() + 60_000)), staged.filter((entry) => !entry.endsWith('/')).length);
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('resumes an upload another OS process wrote in 3 chunks and closed (7 MiB), then commits', async () => {
    const path = '/docker/registry/v2/repositories/demo/_uploads/0123/data';
    const chunks = [3 * MiB, 3 * MiB + 1, MiB - 1];
    const child = runChild(`
      (async () => {
        const driver = new FilesystemDriver({ rootDirectory: ${JSON.stringify(tmp.root)} });
        ${stageUploadSnippet(path, chunks)}
      })().catch((err) => { console.error(err); process.exit(3); });
    `);
    const lines: string[] = [];
    for await (const line of child.lines) lines.push(line);
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(lines, [String(7 * MiB)]);

    const driver = tmp.driver();
    await assert.rejects(driver.stat(path), { code: 'ERR_PATH_NOT_FOUND' });
    const writer = await driver.writer(path, true);
    assert.equal(writer.size, 7 * MiB);
    await writer.write(pattern('upload', 7 * MiB, 2 * MiB + 9));
    await writer.commit();
    assert.equal(writer.size, 9 * MiB + 9);
    assert.equal(sha256(await driver.getContent(path)), sha256(pattern('upload', 0, 9 * MiB + 9)));
    assert.deepEqual(await readdir(join(tmp.root, STAGING_DIR_NAME)), []);
  });

  for (const action of ['commit', 'close', 'cancel', 'write'] as const) {
    it(`a writer in another process fenced by writer(path, false) here: its ${action} fails with ERR_UPLOAD_FENCED and leaves the new upload alone`, async () => {
      const path = '/contested';
      const child = runChild(`
        (async () => {
          const driver = new FilesystemDriver({ rootDirectory: ${JSON.stringify(tmp.root)} });
          const writer = await driver.writer(${JSON.stringify(path)}, false);
          await writer.write(Buffer.from('from the child'));
          console.log('written');
          const action = await nextLine();
          try {
            await (action === 'write' ? writer.write(Buffer.from('more')) : writer[action]());
            console.log(action + ' ok');
          } catch (err) {
            console.log(action + ' ' + err.code);
          }
          // Whatever it tries next fails the same way.
          await writer.commit().catch((err) => console.log('then ' + err.code));
        })().catch((err) => { console.error(err); process.exit(3); });
      `);
      const lines = child.lines[Symbol.asyncIterator]();
      assert.equal((await lines.next()).value, 'written');
      const driver = tmp.driver();
      const writer = await driver.writer(path, false);
      assert.equal(writer.size, 0);
      await writer.write(Buffer.from('from the parent'));
      child.send(action);
      assert.equal((await lines.next()).value, `${action} ERR_UPLOAD_FENCED`);
      assert.equal((await lines.next()).value, 'then ERR_UPLOAD_FENCED');
      assert.equal((await child.exited).code, 0);
      await assert.rejects(driver.stat(path), { code: 'ERR_PATH_NOT_FOUND' });
      await writer.commit();
      assert.equal((await driver.getContent(path)).toString(), 'from the parent');
      assert.deepEqual(await driver.leftovers('/'), []);
    });
  }

  it('a writer dropped without closing is forgotten: a new writer(path, false) then discards its upload', async () => {
    const child = runChild(
      `
      (async () => {
        const driver = new FilesystemDriver({ rootDirectory: ${JSON.stringify(tmp.root)} });
        let dropped = await driver.writer('/dropped', false);
        await dropped.write(Buffer.from('abandoned'));
        dropped = undefined;
        await new Promise((resolve) => setTimeout(resolve, 10));
        global.gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
        const fresh = await driver.writer('/dropped', false);
        console.log(JSON.stringify(await driver.leftovers('/')));
        await fresh.cancel();
        console.log(JSON.stringify(await driver.leftovers('/')));
      })().catch((err) => { console.error(err); process.exit(3); });
    `,
      ['--expose-gc', '--no-warnings'],
    );
    const lines: string[] = [];
    for await (const line of child.lines) lines.push(line);
    const exit = await child.exited;
    assert.equal(exit.code, 0, exit.stderr);
    // No fenced note for a writer nobody holds any more: only the new upload, then nothing.
    assert.deepEqual(lines, [JSON.stringify([`/${STAGING_DIR_NAME}/dropped~upload`]), '[]']);
  });
});
