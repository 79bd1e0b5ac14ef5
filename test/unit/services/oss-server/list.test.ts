import assert from 'node:assert/strict';
import { SIGNATURE_VERSIONS, makeClient, rejection, uniqueBucket, useOssServer, type Client } from './helpers';

interface Page {
  names: string[];
  prefixes: string[];
  truncated: boolean;
  next: string | null;
}

async function listV1(client: Client, query: Record<string, string | number>): Promise<Page> {
  const result = await client.list(query as never, {});
  return {
    names: (result.objects ?? []).map((o) => o.name),
    prefixes: result.prefixes ?? [],
    truncated: result.isTruncated,
    next: result.nextMarker,
  };
}

async function listV2(client: Client, query: Record<string, string | number>): Promise<Page & { keyCount: number; owners: unknown[] }> {
  const result = await client.listV2(query, {});
  return {
    names: (result.objects ?? []).map((o) => o.name),
    prefixes: result.prefixes ?? [],
    truncated: result.isTruncated,
    next: result.nextContinuationToken,
    keyCount: result.keyCount,
    owners: (result.objects ?? []).map((o) => o.owner),
  };
}

/** Every entry (keys and common prefixes, in order) of a listing, page by page. */
async function everything(fetchPage: (after: string | null) => Promise<Page>): Promise<{ entries: string[]; pages: number }> {
  const entries: string[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const page = await fetchPage(after);
    pages++;
    // Keys and prefixes interleave in key order; a page lists each kind sorted.
    entries.push(...[...page.names, ...page.prefixes].sort());
    if (!page.truncated) return { entries, pages };
    assert.ok(page.next, 'a truncated page names where the next one starts');
    after = page.next;
    assert.ok(pages < 1000, 'listing does not end');
  }
}

const KEYS = ['a.txt', 'dir/1.txt', 'dir/2.txt', 'dir/sub/3.txt', 'dir/sub/deeper/4.txt', 'dir/sub/deeper/5.txt', 'dir/sub2/6.txt', 'dir2/7.txt', 'z/last.txt'];

for (const version of SIGNATURE_VERSIONS) {
  describe(`oss server: listing through ali-oss (${version})`, function () {
    this.timeout(60_000);
    const oss = useOssServer();
    let client: Client;

    before(async () => {
      const bucket = uniqueBucket(`list-${version}`);
      client = makeClient(oss.server(), { version, bucket });
      await client.putBucket(bucket);
      for (const key of KEYS) await client.put(key, Buffer.from(key));
    });

    it('ListObjects with a delimiter returns the direct children and the common prefixes', async () => {
      const root = await listV1(client, { delimiter: '/', 'max-keys': 100 });
      assert.deepEqual(root.names, ['a.txt']);
      assert.deepEqual(root.prefixes, ['dir/', 'dir2/', 'z/']);
      assert.equal(root.truncated, false);
      const dir = await listV1(client, { prefix: 'dir/', delimiter: '/', 'max-keys': 100 });
      assert.deepEqual(dir.names, ['dir/1.txt', 'dir/2.txt']);
      assert.deepEqual(dir.prefixes, ['dir/sub/', 'dir/sub2/']);
    });

    it('deep prefixes list only what is below them', async () => {
      const deep = await listV1(client, { prefix: 'dir/sub/', delimiter: '/', 'max-keys': 100 });
      assert.deepEqual(deep.names, ['dir/sub/3.txt']);
      assert.deepEqual(deep.prefixes, ['dir/sub/deeper/']);
      const deeper = await listV2(client, { prefix: 'dir/sub/deeper/', delimiter: '/' });
      assert.deepEqual(deeper.names, ['dir/sub/deeper/4.txt', 'dir/sub/deeper/5.txt']);
      assert.deepEqual(deeper.prefixes, []);
      const flat = await listV1(client, { prefix: 'dir/sub', 'max-keys': 100 });
      assert.deepEqual(flat.names, ['dir/sub/3.txt', 'dir/sub/deeper/4.txt', 'dir/sub/deeper/5.txt', 'dir/sub2/6.txt']);
      const none = await listV1(client, { prefix: 'nothing/', delimiter: '/', 'max-keys': 100 });
      assert.deepEqual([none.names, none.prefixes, none.truncated], [[], [], false]);
    });

    it('ListObjects pages with max-keys and marker, each common prefix counted once and never repeated', async () => {
      for (const maxKeys of [1, 2, 3]) {
        const withDelimiter = await everything(async (after) => listV1(client, { delimiter: '/', 'max-keys': maxKeys, ...(after ? { marker: after } : {}) }));
        assert.deepEqual(withDelimiter.entries, ['a.txt', 'dir/', 'dir2/', 'z/'], `max-keys ${maxKeys}`);
        assert.equal(withDelimiter.pages, Math.ceil(4 / maxKeys));
        const flat = await everything(async (after) => listV1(client, { 'max-keys': maxKeys, ...(after ? { marker: after } : {}) }));
        assert.deepEqual(flat.entries, [...KEYS].sort(), `max-keys ${maxKeys}`);
      }
    });

    it('ListObjectsV2 pages with continuation tokens; KeyCount counts keys and prefixes', async () => {
      for (const maxKeys of [1, 2, 4]) {
        const pages: { keyCount: number }[] = [];
        const listed = await everything(async (token) => {
          const page = await listV2(client, { prefix: 'dir/', delimiter: '/', 'max-keys': maxKeys, ...(token ? { 'continuation-token': token } : {}) });
          pages.push(page);
          assert.equal(page.keyCount, page.names.length + page.prefixes.length);
          return page;
        });
        assert.deepEqual(listed.entries, ['dir/1.txt', 'dir/2.txt', 'dir/sub/', 'dir/sub2/'], `max-keys ${maxKeys}`);
      }
      const all = await everything(async (token) => listV2(client, { 'max-keys': 2, ...(token ? { 'continuation-token': token } : {}) }));
      assert.deepEqual(all.entries, [...KEYS].sort());
    });

    it('ListObjectsV2 start-after skips up to and including the given key', async () => {
      const page = await listV2(client, { 'start-after': 'dir/sub/deeper/4.txt', 'max-keys': 100 });
      assert.deepEqual(page.names, ['dir/sub/deeper/5.txt', 'dir/sub2/6.txt', 'dir2/7.txt', 'z/last.txt']);
    });

    it('ListObjectsV2 includes Owner only with fetch-owner=true; ListObjects always does', async () => {
      const without = await listV2(client, { prefix: 'dir/sub2/' });
      assert.deepEqual(without.owners, [null]);
      const withOwner = await listV2(client, { prefix: 'dir/sub2/', 'fetch-owner': 'true' });
      assert.ok(withOwner.owners[0], 'fetch-owner=true lists the owner');
      const v1 = await client.list({ prefix: 'dir/sub2/', 'max-keys': 10 }, {});
      assert.ok(v1.objects[0]?.owner?.id);
    });

    it('encoding-type=url encodes keys and prefixes in the response', async () => {
      await client.put('enc/a b+c/ü.txt', Buffer.from('x'));
      const flat = await listV1(client, { prefix: 'enc/', 'encoding-type': 'url', 'max-keys': 100 });
      assert.deepEqual(flat.names, ['enc%2Fa%20b%2Bc%2F%C3%BC.txt']);
      const grouped = await listV2(client, { prefix: 'enc/', delimiter: '/', 'encoding-type': 'url' });
      assert.deepEqual(grouped.prefixes.map(decodeURIComponent), ['enc/a b+c/']);
      await client.delete('enc/a b+c/ü.txt');
    });

    it('max-keys above 1000 is InvalidArgument', async () => {
      const err = await rejection(client.list({ 'max-keys': 1001 }, {}));
      assert.equal(err.status, 400);
      assert.equal(err.code, 'InvalidArgument');
    });

    it('a listing of 2500 keys pages by 1000', async () => {
      const bucket = uniqueBucket(`list-many-${version}`);
      const many = makeClient(oss.server(), { version, bucket });
      await many.putBucket(bucket);
      const keys = Array.from({ length: 2500 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => many.put(key, Buffer.alloc(0))));
      const listed = await everything(async (token) => listV2(many, { 'max-keys': 1000, ...(token ? { 'continuation-token': token } : {}) }));
      assert.equal(listed.pages, 3);
      assert.deepEqual(listed.entries, keys);
    });

    it(
      version === 'v4'
        ? 'V4: an empty query value (prefix: "") is signed by ali-oss as `prefix=` but canonicalised by OSS as `prefix`: SignatureDoesNotMatch'
        : 'V1: an empty prefix is not part of the signature and lists everything',
      async () => {
        if (version === 'v4') {
          const err = await rejection(client.list({ prefix: '', 'max-keys': 5 }, {}));
          assert.equal(err.status, 403);
          assert.equal(err.code, 'SignatureDoesNotMatch');
        } else {
          const page = await listV1(client, { prefix: '', 'max-keys': 100 });
          assert.equal(page.names.length, KEYS.length);
        }
      },
    );
  });
}
