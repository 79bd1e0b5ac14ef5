import assert from 'node:assert/strict';
import { assertError, call, describeRegistry, pushImage, sha256Digest } from './helpers';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describeRegistry('tags, catalog and referrers', (registry) => {
  before(async () => {
    const { bytes } = await pushImage(registry(), 'list/a', 'b');
    for (const tag of ['a', 'c', 'B', 'v1.0', 'latest']) {
      await call(registry(), 'PUT', `/v2/list/a/manifests/${tag}`, { body: bytes, headers: { 'Content-Type': OCI_MANIFEST } });
    }
    await pushImage(registry(), 'list/a-b', 'x');
    await pushImage(registry(), 'list/a/deeper', 'x');
    await pushImage(registry(), 'list/z', 'x');
  });

  it('tags/list returns every tag in lexical order', async () => {
    const reply = await call(registry(), 'GET', '/v2/list/a/tags/list');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json(), { name: 'list/a', tags: ['B', 'a', 'b', 'c', 'latest', 'v1.0'] });
  });

  it('tags/list pages with n and last, with a Link to the next page', async () => {
    let reply = await call(registry(), 'GET', '/v2/list/a/tags/list?n=2');
    assert.deepEqual(reply.json().tags, ['B', 'a']);
    assert.equal(reply.headers.get('link'), '</v2/list/a/tags/list?n=2&last=a>; rel="next"');
    reply = await call(registry(), 'GET', '/v2/list/a/tags/list?n=2&last=a');
    assert.deepEqual(reply.json().tags, ['b', 'c']);
    reply = await call(registry(), 'GET', '/v2/list/a/tags/list?n=10&last=c');
    assert.deepEqual(reply.json().tags, ['latest', 'v1.0']);
    assert.equal(reply.headers.get('link'), null);
    reply = await call(registry(), 'GET', '/v2/list/a/tags/list?last=latest');
    assert.deepEqual(reply.json().tags, ['v1.0']);
    reply = await call(registry(), 'GET', '/v2/list/a/tags/list?n=0');
    assert.deepEqual(reply.json().tags, []);
    assert.equal(reply.headers.get('link'), null);
    assert.equal((await call(registry(), 'GET', '/v2/list/a/tags/list?n=-1')).status, 400);
  });

  it('tags/list of an unknown repository is NAME_UNKNOWN', async () => {
    assertError(await call(registry(), 'GET', '/v2/list/none/tags/list'), 404, 'NAME_UNKNOWN');
  });

  it('_catalog lists repositories in lexical order and pages with n and last', async () => {
    const all = (await call(registry(), 'GET', '/v2/_catalog')).json().repositories as string[];
    assert.deepEqual(
      all.filter((name) => name.startsWith('list/')),
      ['list/a', 'list/a-b', 'list/a/deeper', 'list/z'],
    );
    const first = await call(registry(), 'GET', '/v2/_catalog?n=1&last=list/a');
    assert.deepEqual(first.json().repositories, ['list/a-b']);
    assert.equal(first.headers.get('link'), `</v2/_catalog?n=1&last=${encodeURIComponent('list/a-b')}>; rel="next"`);
    assert.deepEqual((await call(registry(), 'GET', '/v2/_catalog?n=5&last=list/a/deeper')).json().repositories.slice(0, 1), ['list/z']);
  });

  it('referrers lists the manifests whose subject is the digest, filters by artifactType and says so', async () => {
    const { digest: subjectDigest, bytes: subjectBytes } = await pushImage(registry(), 'list/ref', 'subject');
    const subject = { mediaType: OCI_MANIFEST, digest: subjectDigest, size: subjectBytes.length };
    const sbom = await pushImage(registry(), 'list/ref', 'sbom', {
      artifactType: 'application/vnd.example.sbom',
      subject,
      annotations: { 'org.example': 'yes' },
    });
    const signature = await pushImage(registry(), 'list/ref', 'sig', { subject }); // no artifactType: the config's media type
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], subject }));
    assert.equal((await call(registry(), 'PUT', '/v2/list/ref/manifests/idx', { body: index, headers: { 'Content-Type': OCI_INDEX } })).status, 201);

    const reply = await call(registry(), 'GET', `/v2/list/ref/referrers/${subjectDigest}`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-type'), OCI_INDEX);
    assert.equal(reply.headers.get('oci-filters-applied'), null);
    const body = reply.json();
    assert.equal(body.schemaVersion, 2);
    assert.equal(body.mediaType, OCI_INDEX);
    const expected = [
      {
        mediaType: OCI_MANIFEST,
        digest: sbom.digest,
        size: sbom.bytes.length,
        artifactType: 'application/vnd.example.sbom',
        annotations: { 'org.example': 'yes' },
      },
      { mediaType: OCI_MANIFEST, digest: signature.digest, size: signature.bytes.length, artifactType: 'application/vnd.oci.image.config.v1+json' },
      { mediaType: OCI_INDEX, digest: sha256Digest(index), size: index.length },
    ].sort((a, b) => (a.digest < b.digest ? -1 : 1));
    assert.deepEqual(body.manifests, expected);

    const filtered = await call(registry(), 'GET', `/v2/list/ref/referrers/${subjectDigest}?artifactType=application/vnd.example.sbom`);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(
      filtered.json().manifests.map((d: { digest: string }) => d.digest),
      [sbom.digest],
    );
  });

  it('referrers of a digest nobody refers to is an empty index; a bad digest is 400', async () => {
    const reply = await call(registry(), 'GET', `/v2/list/a/referrers/${sha256Digest(Buffer.from('lonely'))}`);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json().manifests, []);
    assert.equal((await call(registry(), 'GET', '/v2/list/a/referrers/sha256:nothex')).status, 400);
  });
});
