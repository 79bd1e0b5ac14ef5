import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDockerRegistry } from '../../services/docker-registry';
import { makeRandomOciImage, type RandomOciImage } from '../../services/docker-registry/oci-image';
import { ensureSkopeo, pushImage } from '../../services/docker-registry/skopeo';
import { requireService } from '../../services/require-service';
import { describeRun, runStowage, tempDir } from './run-stowage';

interface VerifyJson {
  ok: boolean;
  blobs: number;
  repositories: number;
  links: number;
  manifests: number;
  problems: Array<{ kind: string; path: string; detail: string }>;
}

/** Where distribution's filesystem driver keeps a blob's data under its rootdirectory. */
function blobFile(storage: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

describe('stowage verify on storage written by docker-registry 2.8.2', function () {
  let work: { path: string; remove: () => Promise<void> };
  let storage: string;
  let image: RandomOciImage;
  const verify = (...extra: string[]) => runStowage(['verify', '--driver', 'filesystem', '--param', `rootdirectory=${storage}`, ...extra]);

  before(async function () {
    this.timeout(600_000); // a first use may apt-get install docker-registry and skopeo
    work = await tempDir('verify');
    storage = join(work.path, 'storage');
    await requireService(this, 'skopeo', ensureSkopeo);
    const registry = await requireService(this, 'docker-registry', () => startDockerRegistry({ rootDirectory: storage }));
    try {
      // Debian's docker-registry lays the storage out; skopeo pushes a real image into it.
      image = await makeRandomOciImage(join(work.path, 'image'), [300_000, 1_000_000, 5]);
      await pushImage(image.dir, image.tag, registry.host, 'tests/verify');
    } finally {
      await registry.stop();
    }
  });

  after(async () => {
    await work?.remove();
  });

  it('finds the storage consistent (exit 0) and counts what it checked', async () => {
    const run = await verify();
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^verify: \/docker\/registry\/v2 is consistent$/m);
    const json = await verify('--json');
    assert.equal(json.code, 0, describeRun(json));
    const summary = JSON.parse(json.stdout) as VerifyJson;
    // Three layers, the config and the manifest; one repository, one manifest revision.
    assert.deepEqual([summary.ok, summary.blobs, summary.repositories, summary.manifests, summary.problems], [true, 5, 1, 1, []]);
    // _layers links for the config and the layers, a revision link, the tag's current and index links.
    assert.equal(summary.links, 4 + 1 + 2);
  });

  it('reports a corrupted blob and a deleted one, and exits 1', async () => {
    const corrupted = image.layers[0]!.digest;
    const deleted = image.layers[1]!.digest;
    const data = await readFile(blobFile(storage, corrupted));
    const middle = data.length >> 1;
    data.writeUInt8(data.readUInt8(middle) ^ 0xff, middle);
    await writeFile(blobFile(storage, corrupted), data);
    await rm(join(blobFile(storage, deleted), '..'), { recursive: true });

    const run = await verify();
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stdout, /^verify: \d+ problems in \/docker\/registry\/v2$/m);

    const json = await verify('--json');
    assert.equal(json.code, 1, describeRun(json));
    const summary = JSON.parse(json.stdout) as VerifyJson;
    assert.equal(summary.ok, false);
    const hex = (digest: string) => digest.slice('sha256:'.length);
    assert.deepEqual(
      summary.problems.filter((p) => p.kind === 'digest-mismatch').map((p) => p.path),
      [`/docker/registry/v2/blobs/sha256/${hex(corrupted).slice(0, 2)}/${hex(corrupted)}/data`],
    );
    const missing = summary.problems.filter((p) => p.kind === 'missing-blob');
    // The repository's layer link to it, and the manifest that references it.
    assert.ok(
      missing.some((p) => p.path === `/docker/registry/v2/repositories/tests/verify/_layers/sha256/${hex(deleted)}/link`),
      JSON.stringify(missing),
    );
    assert.ok(
      missing.some((p) => p.path.endsWith(`${hex(image.manifestDigest)}/data`) && p.detail.includes(deleted)),
      JSON.stringify(missing),
    );
    assert.equal(summary.problems.length, 3, JSON.stringify(summary.problems));
  });

  it('a root that does not exist is an error, not an empty registry', async () => {
    const run = await verify('--root', '/no/registry/here');
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /ERR_PATH_NOT_FOUND \(driver filesystem, path \/no\/registry\/here\)/);
  });
});
