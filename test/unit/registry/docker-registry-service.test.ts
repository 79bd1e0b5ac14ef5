import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DockerRegistryInstance, startDockerRegistry } from '../../services/docker-registry';
import { makeRandomOciImage, readOciImage } from '../../services/docker-registry/oci-image';
import { ensureSkopeo, pullImage, pushImage } from '../../services/docker-registry/skopeo';
import { requireService } from '../../services/require-service';

describe('services: docker-registry 2.8.2 and skopeo', function () {
  let work: string;
  let registry: DockerRegistryInstance;

  before(async function () {
    this.timeout(600_000); // a first use may apt-get install both
    work = await mkdtemp(join(tmpdir(), 'stowage-docker-registry-test-'));
    await requireService(this, 'skopeo', ensureSkopeo);
    registry = await requireService(this, 'docker-registry', () => startDockerRegistry({ rootDirectory: join(work, 'storage') }));
  });

  after(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('skopeo pushes a random image into docker-registry and pulls it back byte for byte', async () => {
    const image = await makeRandomOciImage(join(work, 'image'), [300_000, 1_000_000, 5]);
    await pushImage(image.dir, image.tag, registry.host, 'tests/random');
    const hex = image.layers[1]!.digest.slice('sha256:'.length);
    assert.ok(existsSync(join(work, 'storage/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')), "distribution's layout on disk");
    await pullImage(registry.host, 'tests/random', image.tag, join(work, 'pulled'), 'copy');
    const pulled = await readOciImage(join(work, 'pulled'), 'copy');
    assert.deepEqual(pulled, await readOciImage(image.dir, image.tag));
    assert.equal(pulled.manifestDigest, image.manifestDigest);
    for (const blob of pulled.blobs) assert.equal(blob.contentDigest, blob.digest);
  });

  it('stop() ends the server by PID', async () => {
    const pid = registry.pid;
    await registry.stop();
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    await assert.rejects(fetch(`${registry.url}/v2/`));
  });
});
