import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB } from '@stowage/core';
import { type Descriptor, makeRandomOciImage, type RandomOciImage, readOciImage } from '../../services/docker-registry/oci-image';
import { dockerReference, ensureSkopeo, pullImage, pushImage, skopeoCopy } from '../../services/docker-registry/skopeo';
import { requireService } from '../../services/require-service';
import { call, CLOUD_DRIVERS, REGISTRY_DRIVERS, startTestRegistry, startTestStorage, type TestRegistry, type TestStorage } from './helpers';
import { blobDataHex, isSignedUrlGet, type ProxiedRequest, type RecordingProxy } from './recording-proxy';

// 42 MiB in three layers of random data; the first is above every driver's default part or
// segment size (S3 and OSS 10 MiB, Swift 20 MiB, Azure 4 MiB blocks).
const LAYER_SIZES = [24 * MiB, 12 * MiB, 6 * MiB];

/** `/v2/<repository>/blobs/<digest>` */
function blobPath(repository: string, blob: Descriptor): string {
  return `/v2/${repository}/blobs/${blob.digest}`;
}

function hexOf(blob: Descriptor): string {
  return blob.digest.slice('sha256:'.length);
}

function describeRequests(requests: ProxiedRequest[]): string {
  return requests
    .map((r) => `${r.method} ${r.url.split('?')[0]} ${r.status} ${r.responseBytes}${isSignedUrlGet(r) ? ` (signed URL, ${r.headers['user-agent']})` : ''}`)
    .join('\n');
}

describe('registry with skopeo', function () {
  let work: string;
  let image: RandomOciImage;
  let blobs: Descriptor[];

  before(async function () {
    this.timeout(600_000); // a first use may apt-get install skopeo
    await requireService(this, 'skopeo', ensureSkopeo);
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-skopeo-'));
    image = await makeRandomOciImage(join(work, 'image'), LAYER_SIZES, 'v1');
    blobs = [image.config, ...image.layers];
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Pulls `repository`:`reference` from `registry` and asserts that it is the image, byte for byte. */
  async function pullAndCompare(registry: TestRegistry, repository: string, reference: string, label: string): Promise<void> {
    const pulled = join(work, label);
    await pullImage(registry.host, repository, reference, pulled, 'copy');
    const original = await readOciImage(image.dir, image.tag);
    const copy = await readOciImage(pulled, 'copy');
    assert.deepEqual(copy, original);
    assert.deepEqual(
      copy.blobs.map((blob) => blob.contentSize),
      [image.config.size, ...image.layers.map((layer) => layer.size)],
    );
    for (const blob of copy.blobs) assert.equal(blob.contentDigest, blob.digest);
    await rm(pulled, { recursive: true, force: true });
  }

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
        await pullAndCompare(registry, 'skopeo/random', image.tag, `pulled-${driverName}`);
      });

      it('skopeo copies the image to another repository of the registry and pulls it by digest', async () => {
        await skopeoCopy(dockerReference(registry.host, 'skopeo/random', image.tag), dockerReference(registry.host, 'skopeo/copy', 'v2'));
        const tags = await call(registry, 'GET', '/v2/skopeo/copy/tags/list');
        assert.deepEqual(tags.json().tags, ['v2']);
        await pullAndCompare(registry, 'skopeo/copy', image.manifestDigest, `by-digest-${driverName}`);
      });
    });
  }

  // The cloud drivers on their local servers, reached through a recording pass-through: the
  // registry's access log says what it answered (307 or 200), the pass-through what the storage
  // served and to whom (a signed URL without credentials is skopeo following a redirect; the
  // driver's own requests carry credentials).
  for (const driverName of CLOUD_DRIVERS) {
    describe(`${driverName} on its local server (config.yml parameters, through a recording pass-through)`, function () {
      let storage: TestStorage | undefined;
      let registry: TestRegistry | undefined;
      let proxy: RecordingProxy;

      before(async function () {
        this.timeout(600_000); // a first use may install Swift or Azurite
        storage = await startTestStorage(this, driverName, { recordingProxy: true });
        proxy = storage.proxy!;
        registry = await startTestRegistry(driverName, { storage, logLevel: 'info' });
      });

      after(async () => {
        await registry?.close();
        await storage?.drop();
      });

      /**
       * After a pull of `repository` that began when the registry's access log had `logMark`
       * entries and the pass-through `proxyMark` requests: every blob GET was answered 307, and the
       * storage served each blob whole to a signed-URL GET, while the registry read none itself.
       */
      async function assertRedirectedPull(repository: string, logMark: number, proxyMark: number): Promise<void> {
        for (const blob of blobs) {
          await registry!.waitForAccess(
            (e) => e.method === 'GET' && e.path === blobPath(repository, blob) && e.status === 307,
            `307 for GET ${blobPath(repository, blob)}`,
          );
        }
        const blobGets = registry!
          .accessLog()
          .slice(logMark)
          .filter((e) => e.method === 'GET' && e.path.startsWith(`/v2/${repository}/blobs/`));
        assert.deepEqual(new Set(blobGets.map((e) => e.status)), new Set([307]), 'the registry answered every blob GET with a redirect');
        const seen = proxy.requests.slice(proxyMark);
        for (const blob of blobs) {
          // skopeo's user agent (skopeo/VERSION): skopeo followed the redirect itself.
          const served = seen.filter((r) => isSignedUrlGet(r) && blobDataHex(r) === hexOf(blob) && /^skopeo\//.test(r.headers['user-agent'] ?? ''));
          assert.ok(
            served.some((r) => r.status === 200 && r.responseBytes === blob.size),
            `the storage served the ${blob.size}-byte blob ${blob.digest} whole to a signed-URL GET; requests seen:\n${describeRequests(seen)}`,
          );
        }
        // (The manifest is a blob too, which the registry reads to answer the manifest GET.)
        const hexes = new Set(blobs.map(hexOf));
        const readByDriver = seen.filter((r) => r.method === 'GET' && !isSignedUrlGet(r) && hexes.has(blobDataHex(r) ?? ''));
        assert.deepEqual(
          readByDriver.map((r) => r.url.split('?')[0]),
          [],
          'the registry itself read none of the layers and config',
        );
      }

      it('skopeo pushes a 3-layer 42 MiB image and pulls it back byte for byte, its blob GETs redirected to and served by the storage', async () => {
        await pushImage(image.dir, image.tag, registry!.host, 'skopeo/random');
        const [logMark, proxyMark] = [registry!.accessLog().length, proxy.requests.length];
        await pullAndCompare(registry!, 'skopeo/random', image.tag, `pulled-${driverName}`);
        await assertRedirectedPull('skopeo/random', logMark, proxyMark);
      });

      it('skopeo copies the image to another repository of the registry and pulls it by digest through redirects', async () => {
        await skopeoCopy(dockerReference(registry!.host, 'skopeo/random', image.tag), dockerReference(registry!.host, 'skopeo/copy', 'v2'));
        assert.deepEqual((await call(registry!, 'GET', '/v2/skopeo/copy/tags/list')).json().tags, ['v2']);
        const [logMark, proxyMark] = [registry!.accessLog().length, proxy.requests.length];
        await pullAndCompare(registry!, 'skopeo/copy', image.manifestDigest, `by-digest-${driverName}`);
        await assertRedirectedPull('skopeo/copy', logMark, proxyMark);
      });

      // Redirects only concern blob GETs, so the image pushed above is pulled again through a
      // second registry over the same storage.
      it('with redirect.disable: true the registry serves the blobs itself (200), read from the storage by the driver', async () => {
        const direct = await startTestRegistry(driverName, { storage, logLevel: 'info', redirectDisable: true });
        try {
          const proxyMark = proxy.requests.length;
          await pullAndCompare(direct, 'skopeo/random', image.tag, `no-redirect-${driverName}`);
          for (const blob of blobs) {
            await direct.waitForAccess(
              (e) => e.method === 'GET' && e.path === blobPath('skopeo/random', blob) && e.status === 200 && e.bytes > blob.size,
              `200 with the ${blob.size}-byte body for GET ${blobPath('skopeo/random', blob)}`,
            );
          }
          const blobGets = direct.accessLog().filter((e) => e.method === 'GET' && e.path.includes('/blobs/'));
          assert.deepEqual(new Set(blobGets.map((e) => e.status)), new Set([200]), 'no redirects');
          const seen = proxy.requests.slice(proxyMark);
          assert.deepEqual(
            seen.filter(isSignedUrlGet).map((r) => r.url.split('?')[0]),
            [],
            'no client fetched the storage directly',
          );
          for (const blob of blobs) {
            const read = seen.filter((r) => r.method === 'GET' && blobDataHex(r) === hexOf(blob)).reduce((sum, r) => sum + r.responseBytes, 0);
            assert.ok(
              read >= blob.size,
              `the driver read the ${blob.size}-byte blob ${blob.digest} from the storage (${read} bytes); requests seen:\n${describeRequests(seen)}`,
            );
          }
        } finally {
          await direct.close();
        }
      });
    });
  }
});
