import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isInvalidPath, isPathNotFound, readAll, type FileInfo } from '@stowage/core';
import { FilesystemDriver, STAGING_DIR_NAME } from '@stowage/filesystem';
import { useTempRoot } from './helpers';

describe('filesystem: on-disk layout', () => {
  const tmp = useTempRoot();

  it("reads back a tree written in distribution's layout (<rootdirectory><path>)", async () => {
    const digest = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
    const blob = join(tmp.root, 'docker/registry/v2/blobs/sha256', digest.slice(0, 2), digest, 'data');
    const link = join(tmp.root, 'docker/registry/v2/repositories/library/ubuntu/_layers/sha256', digest, 'link');
    await mkdir(join(blob, '..'), { recursive: true });
    await mkdir(join(link, '..'), { recursive: true });
    await writeFile(blob, 'layer bytes');
    await writeFile(link, `sha256:${digest}`);

    const driver = tmp.driver();
    const blobPath = `/docker/registry/v2/blobs/sha256/${digest.slice(0, 2)}/${digest}/data`;
    assert.equal((await driver.getContent(blobPath)).toString(), 'layer bytes');
    assert.equal((await readAll(await driver.reader(blobPath, 6))).toString(), 'bytes');
    assert.deepEqual(await driver.list('/docker/registry/v2/repositories/library'), ['/docker/registry/v2/repositories/library/ubuntu']);
    const info = await driver.stat(blobPath);
    assert.equal(info.size, 11);
    assert.equal(info.isDir, false);
    const walked: string[] = [];
    await driver.walk('/docker/registry/v2/blobs', (entry) => {
      walked.push(entry.path);
    });
    assert.deepEqual(walked, [
      '/docker/registry/v2/blobs/sha256',
      `/docker/registry/v2/blobs/sha256/${digest.slice(0, 2)}`,
      `/docker/registry/v2/blobs/sha256/${digest.slice(0, 2)}/${digest}`,
      blobPath,
    ]);
  });

  it('putContent and commit produce exactly <rootdirectory><path>, and nothing else outside staging', async () => {
    const driver = tmp.driver();
    await driver.putContent('/docker/registry/v2/repositories/demo/_manifests/tags/latest/current/link', Buffer.from('sha256:abc'));
    const writer = await driver.writer('/docker/registry/v2/blobs/sha256/ab/abcdef/data');
    await writer.write(Buffer.from('blob'));
    await writer.commit();

    assert.equal(await readFile(join(tmp.root, 'docker/registry/v2/repositories/demo/_manifests/tags/latest/current/link'), 'utf8'), 'sha256:abc');
    assert.equal(await readFile(join(tmp.root, 'docker/registry/v2/blobs/sha256/ab/abcdef/data'), 'utf8'), 'blob');
    assert.deepEqual((await readdir(tmp.root)).sort(), [STAGING_DIR_NAME, 'docker'].sort());
    // Nothing staged is left once everything is committed: not even mirrored directories.
    assert.deepEqual(await readdir(join(tmp.root, STAGING_DIR_NAME)), []);
    assert.deepEqual(await driver.leftovers('/'), []);
  });

  it('a relative rootdirectory is resolved once, against the working directory at construction', () => {
    const driver = new FilesystemDriver({ rootDirectory: 'some/relative/dir/' });
    assert.equal(driver.rootDirectory, join(process.cwd(), 'some/relative/dir'));
  });

  it('the root needs not exist: stat("/") is a directory, list/walk of "/" are empty', async () => {
    const driver = new FilesystemDriver({ rootDirectory: join(tmp.root, 'not', 'yet') });
    const info = await driver.stat('/');
    assert.equal(info.isDir, true);
    assert.equal(info.path, '/');
    assert.deepEqual(await driver.list('/'), []);
    const seen: FileInfo[] = [];
    await driver.walk('/', (entry) => {
      seen.push(entry);
    });
    assert.deepEqual(seen, []);
    await assert.rejects(driver.list('/a'), isPathNotFound);
    await driver.putContent('/a/b', Buffer.from('x'));
    assert.deepEqual(await driver.list('/'), ['/a']);
  });
});

describe('filesystem: what the API never shows', () => {
  const tmp = useTempRoot();

  it('the staging area is invisible to list, walk and stat while uploads are in progress', async () => {
    const driver = tmp.driver();
    await driver.putContent('/visible', Buffer.from('v'));
    const open = await driver.writer('/dir/upload');
    await open.write(Buffer.from('staged bytes'));
    const closed = await driver.writer('/other');
    await closed.write(Buffer.from('more'));
    await closed.close();

    assert.ok((await readdir(tmp.root)).includes(STAGING_DIR_NAME));
    assert.deepEqual(await driver.list('/'), ['/visible']);
    const walked: string[] = [];
    await driver.walk('/', (entry) => {
      walked.push(entry.path);
    });
    assert.deepEqual(walked, ['/visible']);
    await assert.rejects(driver.stat('/dir/upload'), isPathNotFound);
    await assert.rejects(driver.stat('/other'), isPathNotFound);
    await assert.rejects(driver.stat(`/${STAGING_DIR_NAME}`), isInvalidPath);
    assert.deepEqual(await driver.leftovers('/'), [`/${STAGING_DIR_NAME}/dir~upload~upload`, `/${STAGING_DIR_NAME}/other~upload`]);
    assert.deepEqual(await driver.leftovers('/dir'), [`/${STAGING_DIR_NAME}/dir~upload~upload`]);
    assert.deepEqual(await driver.leftovers('/di'), []);
    await open.cancel();
    assert.deepEqual(await driver.leftovers('/'), [`/${STAGING_DIR_NAME}/other~upload`]);
  });

  it('entries whose names are not valid path components are invisible', async () => {
    const driver = tmp.driver();
    await mkdir(join(tmp.root, 'd', 'sub~dir'), { recursive: true });
    await writeFile(join(tmp.root, 'd', 'sub~dir', 'f'), 'hidden');
    await writeFile(join(tmp.root, 'd', 'has space'), 'hidden');
    await writeFile(join(tmp.root, 'd', 'ok'), 'shown');
    assert.deepEqual(await driver.list('/d'), ['/d/ok']);
    const walked: string[] = [];
    await driver.walk('/', (entry) => {
      walked.push(entry.path);
    });
    assert.deepEqual(walked, ['/d', '/d/ok']);
  });

  it('delete never touches the staging area, nor /Pxyz siblings', async () => {
    const driver = tmp.driver();
    const upload = await driver.writer('/a/b/upload');
    await upload.write(Buffer.from('keep me'));
    await upload.close();
    await driver.putContent('/a/b/file', Buffer.from('1'));
    await driver.putContent('/a/bc/file', Buffer.from('2'));
    await driver.delete('/a/b');
    assert.deepEqual(await driver.list('/a'), ['/a/bc']);
    const resumed = await driver.writer('/a/b/upload', true);
    assert.equal(resumed.size, 7);
    await resumed.commit();
    assert.equal((await driver.getContent('/a/b/upload')).toString(), 'keep me');
  });

  it('directories vanish on disk once their last file is deleted or moved away (never the root)', async () => {
    const driver = tmp.driver();
    await driver.putContent('/x/y/z/file', Buffer.from('1'));
    await driver.putContent('/x/keep', Buffer.from('2'));
    await driver.move('/x/y/z/file', '/m/n/file');
    await assert.rejects(stat(join(tmp.root, 'x', 'y')), { code: 'ENOENT' });
    assert.deepEqual(await driver.list('/x'), ['/x/keep']);
    await driver.delete('/x/keep');
    await driver.delete('/m/n/file');
    assert.deepEqual(
      (await readdir(tmp.root)).filter((name) => name !== STAGING_DIR_NAME),
      [],
    );
    assert.ok((await stat(tmp.root)).isDirectory());
  });

  it('a failed move onto a directory changes nothing and leaves no empty directories', async () => {
    const driver = tmp.driver();
    await driver.putContent('/src', Buffer.from('s'));
    await driver.putContent('/dst/inside', Buffer.from('d'));
    await assert.rejects(driver.move('/src', '/dst'), isInvalidPath);
    await assert.rejects(driver.move('/src', '/src/below'), isInvalidPath);
    assert.equal((await driver.getContent('/src')).toString(), 's');
    assert.deepEqual(await driver.list('/'), ['/dst', '/src']);
  });

  it('putContent over a directory or below a file is an InvalidPathError that leaves no temp file', async () => {
    const driver = tmp.driver();
    await driver.putContent('/dir/file', Buffer.from('x'));
    await assert.rejects(driver.putContent('/dir', Buffer.from('y')), isInvalidPath);
    await assert.rejects(driver.putContent('/dir/file/below', Buffer.from('y')), isInvalidPath);
    const writer = await driver.writer('/dir');
    await writer.write(Buffer.from('z'));
    await assert.rejects(writer.commit(), isInvalidPath);
    await writer.cancel();
    assert.deepEqual(await driver.leftovers('/'), []);
    assert.equal((await driver.getContent('/dir/file')).toString(), 'x');
  });

  it('reader and getContent of a directory are PathNotFoundError', async () => {
    const driver = tmp.driver();
    await driver.putContent('/dir/file', Buffer.from('x'));
    await assert.rejects(driver.reader('/dir'), isPathNotFound);
    await assert.rejects(driver.reader('/dir', 5), isPathNotFound);
    await assert.rejects(driver.getContent('/dir'), isPathNotFound);
    await assert.rejects(driver.writer('/dir', true), isPathNotFound);
    await assert.rejects(driver.move('/dir', '/elsewhere'), isPathNotFound);
  });

  it('a resumed upload counts as written when it is resumed: its commit shows a current modTime', async () => {
    const driver = tmp.driver();
    const writer = await driver.writer('/slow');
    await writer.write(Buffer.from('bytes'));
    await writer.close();
    const staged = join(tmp.root, STAGING_DIR_NAME, 'slow~upload', 'data');
    const longAgo = new Date(Date.now() - 3600_000);
    await utimes(staged, longAgo, longAgo);
    const resumed = await driver.writer('/slow', true);
    const before = Date.now();
    await resumed.commit();
    const info = await driver.stat('/slow');
    assert.ok(info.modTime.getTime() >= before - 50, `modTime ${info.modTime.toISOString()} is before the commit`);
  });

  it('paths too long for a flat staging name are staged in mirrored directories, found again and pruned', async () => {
    const long = `/long/${'d'.repeat(120)}/${'e'.repeat(100)}/upload`;
    const driver = tmp.driver();
    const writer = await driver.writer(long);
    await writer.write(Buffer.from('first '));
    await writer.close();
    assert.deepEqual(await driver.leftovers('/long'), [
      `/${STAGING_DIR_NAME}/long/`,
      `/${STAGING_DIR_NAME}/long/${'d'.repeat(120)}/`,
      `/${STAGING_DIR_NAME}/long/${'d'.repeat(120)}/${'e'.repeat(100)}/`,
      `/${STAGING_DIR_NAME}${long}~upload`,
    ]);
    const resumed = await tmp.driver().writer(long, true);
    assert.equal(resumed.size, 6);
    await resumed.write(Buffer.from('second'));
    await resumed.commit();
    await driver.putContent(long, Buffer.from('replaced'));
    assert.equal((await driver.getContent(long)).toString(), 'replaced');
    assert.deepEqual(await readdir(join(tmp.root, STAGING_DIR_NAME)), []);
  });
});
