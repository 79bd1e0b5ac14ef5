import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { layout } from '@stowage/example-registry';
import { assertError, call, describeRegistry, pushBlob, pushImage, sha256Digest, snapshot } from './helpers';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

describeRegistry('manifests', (registry) => {
  it('PUT by tag (201, Location, digest), then GET and HEAD by tag and by digest return the exact bytes', async () => {
    const { digest, bytes } = await pushImage(registry(), 'man/a', 'v1');
    for (const reference of ['v1', digest]) {
      const got = await call(registry(), 'GET', `/v2/man/a/manifests/${reference}`);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(bytes));
      assert.equal(got.headers.get('content-type'), OCI_MANIFEST);
      assert.equal(got.headers.get('docker-content-digest'), digest);
      const head = await call(registry(), 'HEAD', `/v2/man/a/manifests/${reference}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(bytes.length));
      assert.equal(head.body.length, 0);
    }
  });

  it('PUT by digest stores an untagged manifest; a digest that does not match the body is DIGEST_INVALID', async () => {
    const config = Buffer.from('{}');
    const configDigest = await pushBlob(registry(), 'man/b', config);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: 2 },
        layers: [],
      }),
    );
    const digest = sha256Digest(bytes);
    const before = await snapshot(registry().driver);
    assertError(
      await call(registry(), 'PUT', `/v2/man/b/manifests/${sha256Digest(Buffer.from('x'))}`, { body: bytes, headers: { 'Content-Type': OCI_MANIFEST } }),
      400,
      'DIGEST_INVALID',
    );
    assert.deepEqual(await snapshot(registry().driver), before);
    const reply = await call(registry(), 'PUT', `/v2/man/b/manifests/${digest}`, { body: bytes, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(reply.status, 201);
    assert.equal(reply.headers.get('location'), `/v2/man/b/manifests/${digest}`);
    assert.deepEqual((await call(registry(), 'GET', '/v2/man/b/tags/list')).json().tags, []);
  });

  it('Docker schema 2 manifests and manifest lists, and OCI indexes, are stored and served with their media types', async () => {
    const config = Buffer.from('{"os":"linux"}');
    const layer = randomBytes(500);
    const configDigest = await pushBlob(registry(), 'man/docker', config);
    const layerDigest = await pushBlob(registry(), 'man/docker', layer);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layerDigest, size: layer.length }],
      }),
    );
    assert.equal(
      (await call(registry(), 'PUT', '/v2/man/docker/manifests/image', { body: manifest, headers: { 'Content-Type': DOCKER_MANIFEST } })).status,
      201,
    );
    for (const mediaType of [DOCKER_LIST, OCI_INDEX]) {
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType,
          manifests: [{ mediaType: DOCKER_MANIFEST, digest: sha256Digest(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } }],
        }),
      );
      const put = await call(registry(), 'PUT', '/v2/man/docker/manifests/list', { body: index, headers: { 'Content-Type': mediaType } });
      assert.equal(put.status, 201, put.body.toString());
      const got = await call(registry(), 'GET', '/v2/man/docker/manifests/list');
      assert.equal(got.headers.get('content-type'), mediaType);
      assert.ok(got.body.equals(index));
    }
    assert.equal((await call(registry(), 'GET', '/v2/man/docker/manifests/image')).headers.get('content-type'), DOCKER_MANIFEST);
  });

  it('a manifest referencing unknown blobs or manifests is MANIFEST_BLOB_UNKNOWN and stores nothing', async () => {
    const before = await snapshot(registry().driver);
    const missing = sha256Digest(Buffer.from('missing'));
    const image = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: missing, size: 7 },
        layers: [],
      }),
    );
    assertError(
      await call(registry(), 'PUT', '/v2/man/missing/manifests/x', { body: image, headers: { 'Content-Type': OCI_MANIFEST } }),
      400,
      'MANIFEST_BLOB_UNKNOWN',
    );
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: missing, size: 7 }] }));
    assertError(
      await call(registry(), 'PUT', '/v2/man/missing/manifests/x', { body: index, headers: { 'Content-Type': OCI_INDEX } }),
      400,
      'MANIFEST_BLOB_UNKNOWN',
    );
    assert.deepEqual(await snapshot(registry().driver), before);
  });

  it('malformed manifests are MANIFEST_INVALID and store nothing', async () => {
    const configDigest = await pushBlob(registry(), 'man/bad', Buffer.from('{}'));
    const before = await snapshot(registry().driver);
    const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: 2 };
    const bodies: Array<[string, string]> = [
      ['not json', '{"schemaVersion": 2,'],
      ['an array', '[]'],
      ['schema 1', JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] })],
      ['no config', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] })],
      ['a bad layer digest', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [{ mediaType: 'x', digest: 'sha256:zz', size: 1 }] })],
      ['a negative size', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, size: -1 }, layers: [] })],
      ['an unknown media type', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example+json', config, layers: [] })],
    ];
    for (const [what, body] of bodies) {
      assertError(await call(registry(), 'PUT', '/v2/man/bad/manifests/t', { body, headers: { 'Content-Type': OCI_MANIFEST } }), 400, 'MANIFEST_INVALID');
      assert.deepEqual(await snapshot(registry().driver), before, what);
    }
    const valid = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] });
    assertError(await call(registry(), 'PUT', '/v2/man/bad/manifests/t', { body: valid, headers: { 'Content-Type': OCI_INDEX } }), 400, 'MANIFEST_INVALID');
    assertError(
      await call(registry(), 'PUT', '/v2/man/bad/manifests/-bad-tag', { body: valid, headers: { 'Content-Type': OCI_MANIFEST } }),
      400,
      'MANIFEST_INVALID',
    );
    assert.deepEqual(await snapshot(registry().driver), before);
  });

  it('a manifest over 4 MiB is 413 and stores nothing; one just under is accepted', async () => {
    const configDigest = await pushBlob(registry(), 'man/big', Buffer.from('{}'));
    const base = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: 2 },
      layers: [],
    };
    const padded = (size: number) => {
      const text = JSON.stringify({ ...base, annotations: { pad: '' } });
      return JSON.stringify({ ...base, annotations: { pad: 'x'.repeat(size - text.length) } });
    };
    const before = await snapshot(registry().driver);
    const reply = await call(registry(), 'PUT', '/v2/man/big/manifests/huge', { body: padded(4 * 1024 * 1024 + 1), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(reply.status, 413);
    assert.deepEqual(await snapshot(registry().driver), before);
    assert.equal(
      (await call(registry(), 'PUT', '/v2/man/big/manifests/large', { body: padded(4 * 1024 * 1024), headers: { 'Content-Type': OCI_MANIFEST } })).status,
      201,
    );
  });

  it('a manifest with a subject is answered with OCI-Subject (the subject need not exist)', async () => {
    const subject = { mediaType: OCI_MANIFEST, digest: sha256Digest(Buffer.from('not pushed')), size: 10 };
    const configDigest = await pushBlob(registry(), 'man/sub', Buffer.from('{}'));
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.sbom',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: configDigest, size: 2 },
      layers: [],
      subject,
    });
    const reply = await call(registry(), 'PUT', `/v2/man/sub/manifests/${sha256Digest(Buffer.from(body))}`, {
      body,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    assert.equal(reply.status, 201);
    assert.equal(reply.headers.get('oci-subject'), subject.digest);
  });

  it('a schema 1 manifest an old docker-registry stored is still served, typed as signed schema 1', async () => {
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 1, name: 'man/old', tag: 'v0', architecture: 'amd64', fsLayers: [], history: [], signatures: [] }),
    );
    const hex = sha256Digest(bytes).slice('sha256:'.length);
    const digest = { value: `sha256:${hex}`, algorithm: 'sha256' as const, hex };
    const driver = registry().driver;
    await driver.putContent(layout.blobDataPath(digest), bytes);
    await driver.putContent(`${layout.manifestRevisionDir('man/old', digest)}/link`, Buffer.from(digest.value));
    await driver.putContent(layout.tagCurrentLinkPath('man/old', 'v0'), Buffer.from(digest.value));
    const reply = await call(registry(), 'GET', '/v2/man/old/manifests/v0');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v1+prettyjws');
    assert.ok(reply.body.equals(bytes));
  });

  it('unknown tags and digests are MANIFEST_UNKNOWN', async () => {
    assertError(await call(registry(), 'GET', '/v2/man/a/manifests/nope'), 404, 'MANIFEST_UNKNOWN');
    assertError(await call(registry(), 'GET', `/v2/man/a/manifests/${sha256Digest(Buffer.from('?'))}`), 404, 'MANIFEST_UNKNOWN');
    assertError(await call(registry(), 'GET', '/v2/man/nowhere/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
  });

  it('DELETE by tag removes the tag only; DELETE by digest removes the manifest and its tags (202)', async () => {
    const { digest } = await pushImage(registry(), 'man/del', 'one');
    await call(registry(), 'PUT', '/v2/man/del/manifests/two', {
      body: (await call(registry(), 'GET', '/v2/man/del/manifests/one')).body,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    await pushImage(registry(), 'man/del', 'other');
    assert.equal((await call(registry(), 'DELETE', '/v2/man/del/manifests/one')).status, 202);
    assertError(await call(registry(), 'GET', '/v2/man/del/manifests/one'), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await call(registry(), 'GET', `/v2/man/del/manifests/${digest}`)).status, 200);
    assert.equal((await call(registry(), 'DELETE', `/v2/man/del/manifests/${digest}`)).status, 202);
    assertError(await call(registry(), 'GET', `/v2/man/del/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
    assertError(await call(registry(), 'GET', '/v2/man/del/manifests/two'), 404, 'MANIFEST_UNKNOWN');
    assert.deepEqual((await call(registry(), 'GET', '/v2/man/del/tags/list')).json().tags, ['other']);
    assertError(await call(registry(), 'DELETE', `/v2/man/del/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
  });
});
