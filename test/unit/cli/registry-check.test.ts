import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { verifyRegistry, type Problem } from '@stowage/cli';
import type { StorageDriver } from '@stowage/core';
import { InMemoryDriver } from '@stowage/inmemory';

const ROOT = '/docker/registry/v2';

function digestOf(content: string | Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** Stores a blob where distribution keeps it; returns its digest. */
async function putBlob(driver: StorageDriver, content: string | Buffer): Promise<string> {
  const digest = digestOf(content);
  const hex = digest.slice('sha256:'.length);
  await driver.putContent(`${ROOT}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, Buffer.from(content));
  return digest;
}

async function link(driver: StorageDriver, path: string, digest: string): Promise<void> {
  await driver.putContent(`${ROOT}/repositories/${path}/link`, Buffer.from(digest));
}

const dir = (digest: string) => digest.replace(':', '/');

/**
 * verify's checks on a layout written by hand (in memory), for what the docker-registry test does
 * not produce: manifest lists, malformed links, manifests that do not parse, stray files.
 */
describe('stowage verify: registry layout checks', function () {
  it('follows an OCI index to its manifests, and a manifest to its config and layers', async () => {
    const driver = new InMemoryDriver();
    const config = await putBlob(driver, '{"architecture":"amd64","os":"linux"}');
    const layer = await putBlob(driver, Buffer.alloc(1000, 7));
    const manifest = await putBlob(
      driver,
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: config }, layers: [{ digest: layer }] }),
    );
    const index = await putBlob(
      driver,
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: manifest }] }),
    );
    for (const blob of [config, layer]) await link(driver, `lib/app/_layers/${dir(blob)}`, blob);
    for (const m of [manifest, index]) await link(driver, `lib/app/_manifests/revisions/${dir(m)}`, m);
    await link(driver, 'lib/app/_manifests/tags/v1/current', index);
    await link(driver, `lib/app/_manifests/tags/v1/index/${dir(index)}`, index);
    // An unfinished upload is not the checker's business.
    await driver.putContent(`${ROOT}/repositories/lib/app/_uploads/0b7e/startedat`, Buffer.from('2026-12-06T00:00:00Z'));

    const summary = await verifyRegistry(driver, ROOT, 2);
    assert.deepEqual(summary.problems, []);
    assert.deepEqual([summary.blobs, summary.repositories, summary.links, summary.manifests], [4, 1, 6, 2]);
  });

  it('reports malformed links, unparsable manifests, missing references and stray files', async () => {
    const driver = new InMemoryDriver();
    const config = await putBlob(driver, '{}');
    const missingManifest = digestOf('never stored');
    const index = await putBlob(driver, JSON.stringify({ schemaVersion: 2, manifests: [{ digest: missingManifest }] }));
    const notJson = await putBlob(driver, 'this is not JSON');
    const unlinkedConfig = await putBlob(driver, JSON.stringify({ schemaVersion: 2, config: { digest: config }, layers: [] }));
    await link(driver, `lib/app/_manifests/revisions/${dir(index)}`, index);
    await link(driver, `lib/app/_manifests/revisions/${dir(notJson)}`, notJson);
    await link(driver, `lib/app/_manifests/revisions/${dir(unlinkedConfig)}`, unlinkedConfig);
    await link(driver, 'lib/app/_manifests/tags/broken/current', 'garbage');
    await link(driver, `lib/app/_layers/${dir(config)}`, index); // names one digest, holds another
    await driver.putContent(`${ROOT}/blobs/sha256/zz/stray`, Buffer.from('x'));

    const summary = await verifyRegistry(driver, ROOT, 2);
    const found = (kind: Problem['kind'], text: string) => summary.problems.some((p) => p.kind === kind && `${p.path} ${p.detail}`.includes(text));
    assert.ok(found('missing-blob', `references manifest ${missingManifest}`), JSON.stringify(summary.problems, null, 2));
    assert.ok(found('bad-manifest', `manifest ${notJson} of lib/app does not parse`));
    assert.ok(found('bad-link', 'tags/broken/current/link does not hold a digest'));
    assert.ok(found('bad-link', `holds ${index}, but its directory names ${config}`));
    assert.ok(found('bad-link', `references config ${config}, which is not linked in lib/app/_layers`));
    assert.ok(found('bad-path', `${ROOT}/blobs/sha256/zz/stray`));
    assert.equal(summary.problems.length, 6, JSON.stringify(summary.problems, null, 2));
  });
});
