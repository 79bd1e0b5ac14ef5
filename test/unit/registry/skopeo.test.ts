import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB } from '@stowage/core';
import { makeRandomOciImage, type RandomOciImage, readOciImage } from '../../services/docker-registry/oci-image';
import { dockerReference, ensureSkopeo, pullImage, pushImage, skopeoCopy } from '../../services/docker-registry/skopeo';
import { requireService } from '../../services/require-service';
import { call, REGISTRY_DRIVERS, startTestRegistry, type TestRegistry } from './helpers';

// 42 MiB in three layers of random data; the first is above the S3/OSS default part size (10 MiB).
const LAYER_SIZES = [24 * MiB, 12 * MiB, 6 * MiB];

describe('registry with skopeo', function () {
  let work: string;
  let image: RandomOciImage;

  before(async function () {
    this.timeout(600_000); // a first use may apt-get install skopeo
    await requireService(this, 'skopeo', ensureSkopeo);
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-skopeo-'));
    image = await makeRandomOciImage(join(work, 'image'), LAYER_SIZES, 'v1');
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const driverName of REGISTRY_DRIVERS) {
    describe(driverName, () => {
      let registry: TestRegistry;

      before(async () => {
        registry = await startTestRegistry(driverName);
      });

      after(async () => {
        await registry?.close();
      });

      it('skopeo pushes a 3-layer 42 MiB image and pulls it back byte for byte', async () => {
        await pushImage(image.dir, image.tag, registry.host, 'skopeo/random');
        const pulled = join(work, `pulled-${driverName}`);
        await pullImage(registry.host, 'skopeo/random', image.tag, pulled, 'copy');
        const original = await readOciImage(image.dir, image.tag);
        const copy = await readOciImage(pulled, 'copy');
        assert.deepEqual(copy, original);
        assert.deepEqual(copy.blobs.map((blob) => blob.contentSize), [image.config.size, ...image.layers.map((layer) => layer.size)]);
        for (const blob of copy.blobs) assert.equal(blob.contentDigest, blob.digest);
      });

      it('skopeo copies the image to another repository of the registry and pulls it by digest', async () => {
        await skopeoCopy(dockerReference(registry.host, 'skopeo/random', image.tag), dockerReference(registry.host, 'skopeo/copy', 'v2'));
        const tags = await call(registry, 'GET', '/v2/skopeo/copy/tags/list');
        assert.deepEqual(tags.json().tags, ['v2']);
        const pulled = join(work, `by-digest-${driverName}`);
        await pullImage(registry.host, 'skopeo/copy', image.manifestDigest, pulled, 'copy');
        assert.deepEqual(await readOciImage(pulled, 'copy'), await readOciImage(image.dir, image.tag));
      });
    });
  }
});
