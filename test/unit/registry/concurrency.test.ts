import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB, type StorageDriver } from '@stowage/core';
import { purgeOldUploads } from '@stowage/example-registry';
import {
  type Descriptor,
  makeRandomOciImage,
  OCI_CONFIG,
  OCI_MANIFEST,
  type OciImageContents,
  readOciImage,
  sha256Digest,
} from '../../services/docker-registry/oci-image';
import { ensureSkopeo, pullImage, pushImage } from '../../services/docker-registry/skopeo';
import { requireService } from '../../services/require-service';
import { call, startTestRegistry, startUpload, startTestStorage, type TestRegistry, type TestStorage } from './helpers';

const IMAGES = 8;
// Two shared base layers (the first above the S3 part size the s3 run uses: 5 MiB) and one layer
// of each image's own.
const BASE_LAYER_SIZES = [6 * MiB, 1 * MiB];
const OWN_LAYER_SIZE = 256 * 1024;
const S3_CHUNK_SIZE = 5 * MiB;
const UPLOADS_OF = (repository: string) => `/docker/registry/v2/repositories/${repository}/_uploads`;

/** An OCI layout in `dir` holding one image, tagged `v1`, of `base`'s layers plus `own`'s. */
async function combineImages(dir: string, base: string, own: string): Promise<void> {
  const baseImage = await readLayout(base);
  const ownImage = await readLayout(own);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const layers = [...baseImage.manifest.layers, ...ownImage.manifest.layers];
  for (const [from, descriptor] of [...baseImage.manifest.layers.map((d) => [base, d] as const), ...ownImage.manifest.layers.map((d) => [own, d] as const)]) {
    await copyFile(join(from, 'blobs', ...descriptor.digest.split(':')), join(dir, 'blobs', ...descriptor.digest.split(':')));
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [...baseImage.config.rootfs.diff_ids, ...ownImage.config.rootfs.diff_ids] },
    }),
  );
  const configDescriptor: Descriptor = { mediaType: OCI_CONFIG, digest: sha256Digest(config), size: config.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDescriptor, layers }));
  const manifestDigest = sha256Digest(manifest);
  for (const [digest, bytes] of [
    [configDescriptor.digest, config],
    [manifestDigest, manifest],
  ] as const) {
    await writeFile(join(dir, 'blobs', ...digest.split(':')), bytes);
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    }),
  );
}

async function readLayout(dir: string): Promise<{ manifest: { layers: Descriptor[] }; config: { rootfs: { diff_ids: string[] } } }> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const blob = async (digest: string) => JSON.parse(await readFile(join(dir, 'blobs', ...digest.split(':')), 'utf8'));
  const manifest = (await blob(index.manifests[0]!.digest)) as { config: Descriptor; layers: Descriptor[] };
  return { manifest, config: await blob(manifest.config.digest) };
}

/** Every path below an `_uploads` folder of the registry's storage, and what the driver itself still stages. */
async function uploadRemains(driver: StorageDriver): Promise<{ inUploads: string[]; staged: string[] }> {
  const inUploads: string[] = [];
  try {
    await driver.walk('/', async (info) => {
      if (/\/_uploads\//.test(info.path)) inUploads.push(info.path);
    });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_PATH_NOT_FOUND') throw err;
  }
  const staged = (await (driver as { leftovers?: (prefix: string) => Promise<string[]> }).leftovers?.('/')) ?? [];
  return { inUploads, staged };
}

/**
 * 8 skopeo pushes at once of different images sharing their base layers, each into its own
 * repository, then 8 pulls at once: every image comes back byte for byte, and once the uploads are
 * purged nothing is left below any `_uploads` folder, nor staged by the driver.
 */
describe('registry under concurrent skopeo pushes and pulls', function () {
  let work: string;
  let images: string[];
  let originals: OciImageContents[];

  before(async function () {
    this.timeout(600_000); // a first use may apt-get install skopeo
    await requireService(this, 'skopeo', ensureSkopeo);
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-concurrency-'));
    const base = join(work, 'base');
    await makeRandomOciImage(base, BASE_LAYER_SIZES, 'v1');
    images = [];
    for (let i = 0; i < IMAGES; i++) {
      const own = join(work, `own-${i}`);
      await makeRandomOciImage(own, [OWN_LAYER_SIZE + i], 'v1');
      images.push(join(work, `image-${i}`));
      await combineImages(images[i]!, base, own);
      await rm(own, { recursive: true, force: true });
    }
    originals = await Promise.all(images.map((dir) => readOciImage(dir, 'v1')));
    // The images differ but share the base layers.
    assert.equal(new Set(originals.map((image) => image.manifestDigest)).size, IMAGES);
    assert.equal(new Set(originals.map((image) => image.blobs[1]!.digest)).size, 1);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const driverName of ['filesystem', 's3'] as const) {
    describe(driverName, function () {
      let storage: TestStorage | undefined;
      let registry: TestRegistry | undefined;

      before(async function () {
        this.timeout(600_000); // a first use may install Swift
        if (driverName === 's3') storage = await startTestStorage(this, 's3', { parameters: { chunksize: S3_CHUNK_SIZE } });
        registry = await startTestRegistry(driverName, storage ? { storage } : {});
      });

      after(async () => {
        await registry?.close();
        await storage?.drop();
      });

      it(`${IMAGES} pushes at once into ${IMAGES} repositories, then ${IMAGES} pulls at once: every image pulls back identical`, async () => {
        const repository = (i: number) => `concurrent/image-${i}`;
        await Promise.all(images.map((dir, i) => pushImage(dir, 'v1', registry!.host, repository(i))));
        const catalog = (await call(registry!, 'GET', '/v2/_catalog')).json().repositories as string[];
        assert.deepEqual(catalog.sort(), images.map((_, i) => repository(i)).sort());

        const pulled = images.map((_, i) => join(work, `pulled-${driverName}-${i}`));
        await Promise.all(pulled.map((dir, i) => pullImage(registry!.host, repository(i), 'v1', dir, 'copy')));
        for (let i = 0; i < IMAGES; i++) {
          assert.deepEqual(await readOciImage(pulled[i]!, 'copy'), originals[i], `image ${i}`);
          await rm(pulled[i]!, { recursive: true, force: true });
        }
      });

      it('after a purge of every upload (one left unfinished on purpose), nothing is left in _uploads nor staged by the driver', async () => {
        // An upload a client gave up on, with more than one S3 part sent.
        const location = new URL(await startUpload(registry!, 'concurrent/abandoned'), registry!.url);
        const patch = await call(registry!, 'PATCH', `${location.pathname}${location.search}`, {
          body: randomBytes(S3_CHUNK_SIZE + 1024),
          headers: { 'Content-Type': 'application/octet-stream' },
        });
        assert.equal(patch.status, 202, patch.body.toString());
        const before = await uploadRemains(registry!.driver);
        assert.ok(
          before.inUploads.some((path) => path.startsWith(`${UPLOADS_OF('concurrent/abandoned')}/`)),
          `the unfinished upload is in _uploads: ${before.inUploads.join(', ')}`,
        );
        // Every upload counts as old: the cut-off is in the future.
        await purgeOldUploads(registry!.driver, new Date(Date.now() + 3600_000), false);
        assert.deepEqual(await uploadRemains(registry!.driver), { inUploads: [], staged: [] });
        // The images are still whole.
        const pulled = join(work, `after-purge-${driverName}`);
        await pullImage(registry!.host, 'concurrent/image-0', 'v1', pulled, 'copy');
        assert.deepEqual(await readOciImage(pulled, 'copy'), originals[0]);
      });
    });
  }
});
