import assert from 'node:assert/strict';
import { ObjectKeyLayout, readAll, walkFallback, type FileInfo } from '@stowage/core';
import { ossDriverInternals } from '@stowage/oss/internal';
import { useLocalOss } from './helpers';

/**
 * distribution's oss driver, registry/storage/driver/oss/oss.go:
 *   func (d *driver) ossPath(path string) string {
 *     return strings.TrimLeft(strings.TrimRight(d.RootDirectory, "/")+path, "/")
 *   }
 */
function distributionOssPath(rootDirectory: string, path: string): string {
  return `${rootDirectory.replace(/\/+$/, '')}${path}`.replace(/^\/+/, '');
}

const ROOTS = ['', '/', '//', 'registry', '/registry', 'registry/', '/registry/', '//a//b//', 'a/b/c', '/docker-registry/prod//'];
const PATHS = ['/a', '/a/b', '/docker/registry/v2/blobs/sha256/ab/abcdef/data', '/docker/registry/v2/repositories/x/_uploads/0-1.2_3/startedat', '/_', '/0'];

describe("oss: object names as distribution's oss driver writes them", () => {
  it("ObjectKeyLayout.key(path) is distribution's ossPath for every root directory shape", () => {
    for (const root of ROOTS) {
      const layout = new ObjectKeyLayout(root);
      for (const path of PATHS) assert.equal(layout.key(path), distributionOssPath(root, path), `root ${JSON.stringify(root)}, path ${path}`);
      // distribution lists a directory under ossPath(dir + "/"); the root under ossPath("/").
      assert.equal(layout.dirPrefix('/'), distributionOssPath(root, '/'), `root ${JSON.stringify(root)}: the root's prefix`);
      assert.equal(layout.dirPrefix('/a/b'), distributionOssPath(root, '/a/b/'), `root ${JSON.stringify(root)}: a directory's prefix`);
    }
  });

  describe('on the local OSS server', () => {
    const oss = useLocalOss();

    for (const root of ['', '/registry/', '//a//b//']) {
      it(`stores files at distribution's keys and reads what distribution wrote (rootdirectory ${JSON.stringify(root)})`, async () => {
        const driver = await oss.driver({ rootDirectory: root, chunkSize: 100 * 1024 });
        const viaPut = '/docker/registry/v2/blobs/sha256/ab/abcdef/data';
        const viaWriter = '/docker/registry/v2/repositories/demo/_layers/sha256/abcdef/link';
        await driver.putContent(viaPut, Buffer.from('blob'));
        const writer = await driver.writer(viaWriter, false);
        await writer.write(Buffer.alloc(300 * 1024, 7));
        await writer.commit();
        assert.deepEqual(oss.keys(driver.bucket), [distributionOssPath(root, viaPut), distributionOssPath(root, viaWriter)].sort());

        // An object distribution wrote (a plain PutObject at ossPath) is a file of this driver.
        const foreign = '/docker/registry/v2/repositories/demo/_manifests/tags/latest/current/link';
        await ossDriverInternals(driver).client.put(distributionOssPath(root, foreign), Buffer.from('sha256:abcdef'));
        assert.equal((await readAll(await driver.reader(foreign))).toString(), 'sha256:abcdef');
        assert.deepEqual(await driver.list('/docker/registry/v2/repositories/demo'), [
          '/docker/registry/v2/repositories/demo/_layers',
          '/docker/registry/v2/repositories/demo/_manifests',
        ]);
        const walked: FileInfo[] = [];
        await driver.walk('/docker', (info) => {
          walked.push(info);
        });
        const fallback: FileInfo[] = [];
        await walkFallback(driver, '/docker', (info) => {
          fallback.push(info);
        });
        assert.deepEqual(
          walked.map((i) => i.path),
          fallback.map((i) => i.path),
          'the flat-listing walk agrees with list + stat',
        );
        await driver.delete('/docker');
        assert.deepEqual(oss.keys(driver.bucket), []);
      });
    }

    it('keeps unfinished uploads in .stowage~uploads, which list, walk and stat never show', async () => {
      const driver = await oss.driver({ rootDirectory: '/registry', chunkSize: 100 * 1024 });
      const writer = await driver.writer('/up/data', false);
      await writer.write(Buffer.alloc(250 * 1024, 1));
      await writer.close();
      const staged = oss.keys(driver.bucket);
      assert.ok(staged.length >= 2, `staged keys: ${staged.join(', ')}`);
      for (const key of staged) assert.ok(key.startsWith('registry/.stowage~uploads/up/data/'), key);
      assert.deepEqual(await driver.list('/'), []);
      await assert.rejects(driver.stat('/up'), { code: 'ERR_PATH_NOT_FOUND' });
      await driver.putContent('/visible', Buffer.from('x'));
      const walked: string[] = [];
      await driver.walk('/', (info) => {
        walked.push(info.path);
      });
      assert.deepEqual(walked, ['/visible']);
      assert.deepEqual(await driver.list('/'), ['/visible']);
      assert.deepEqual(await driver.leftovers('/up/data'), staged);
      const resumed = await driver.writer('/up/data', true);
      await resumed.cancel();
      assert.deepEqual(oss.keys(driver.bucket), ['registry/visible']);
    });

    it('walk jumps over a crowded staging namespace instead of paging through it', async () => {
      const driver = await oss.driver();
      // 2100 staged keys sort between /-first and /0last ('.' lies between '-' and '0'); a page holds 1000.
      await Promise.all(
        Array.from({ length: 2100 }, (_, i) => ossDriverInternals(driver).client.put(`.stowage~uploads/p${i}/~upload.json`, Buffer.from('{}'))),
      );
      await driver.putContent('/-first', Buffer.from('a'));
      await driver.putContent('/0last', Buffer.from('b'));
      // Counting the real listing requests (each still goes to the server).
      let listings = 0;
      const listV2 = ossDriverInternals(driver).client.listV2.bind(ossDriverInternals(driver).client);
      Object.assign(ossDriverInternals(driver).client, {
        listV2: (...args: Parameters<typeof listV2>) => {
          listings++;
          return listV2(...args);
        },
      });
      const walked: string[] = [];
      await driver.walk('/', (info) => {
        walked.push(info.path);
      });
      assert.deepEqual(walked, ['/-first', '/0last']);
      assert.equal(listings, 2, 'one page up to the first staged key, one from past the staging namespace');
    });
  });
});
