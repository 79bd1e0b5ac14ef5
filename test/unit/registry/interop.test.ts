import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DockerRegistryInstance, ensureDockerRegistry, startDockerRegistry } from '../../services/docker-registry';
import { makeRandomOciImage, type RandomOciImage, readOciImage } from '../../services/docker-registry/oci-image';
import { ensureSkopeo, pullImage, pushImage } from '../../services/docker-registry/skopeo';
import { requireService } from '../../services/require-service';
import { call, startTestRegistry, type TestRegistry } from './helpers';

describe('registry interop with docker-registry 2.8.2 on one filesystem storage', function () {
  let work: string;
  let image: RandomOciImage;
  let dockerRegistry: DockerRegistryInstance | undefined;
  let registry: TestRegistry | undefined;

  before(async function () {
    this.timeout(600_000); // a first use may apt-get install both
    await requireService(this, 'skopeo', ensureSkopeo);
    await requireService(this, 'docker-registry', ensureDockerRegistry);
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-interop-'));
    image = await makeRandomOciImage(join(work, 'image'), [3 * 1024 * 1024, 1024 * 1024, 1000], 'v1');
  });

  afterEach(async () => {
    await dockerRegistry?.stop();
    await registry?.close();
    dockerRegistry = undefined;
    registry = undefined;
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('an image pushed by docker-registry into a directory is pulled through this registry identical', async () => {
    const storage = join(work, 'written-by-docker-registry');
    dockerRegistry = await startDockerRegistry({ rootDirectory: storage });
    await pushImage(image.dir, image.tag, dockerRegistry.host, 'interop/from-distribution');
    await dockerRegistry.stop();
    dockerRegistry = undefined;

    registry = await startTestRegistry('filesystem', { root: storage });
    assert.deepEqual((await call(registry, 'GET', '/v2/interop/from-distribution/tags/list')).json().tags, ['v1']);
    assert.deepEqual((await call(registry, 'GET', '/v2/_catalog')).json().repositories, ['interop/from-distribution']);
    const pulled = join(work, 'pulled-through-stowage');
    await pullImage(registry.host, 'interop/from-distribution', image.tag, pulled, 'copy');
    assert.deepEqual(await readOciImage(pulled, 'copy'), await readOciImage(image.dir, image.tag));
  });

  it('an image pushed through this registry is pulled through docker-registry identical', async () => {
    const storage = join(work, 'written-by-stowage');
    registry = await startTestRegistry('filesystem', { root: storage });
    await pushImage(image.dir, image.tag, registry.host, 'interop/from-stowage');
    await registry.close();
    registry = undefined;

    dockerRegistry = await startDockerRegistry({ rootDirectory: storage });
    const tags = await fetch(`${dockerRegistry.url}/v2/interop/from-stowage/tags/list`);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
    const pulled = join(work, 'pulled-through-distribution');
    await pullImage(dockerRegistry.host, 'interop/from-stowage', image.tag, pulled, 'copy');
    assert.deepEqual(await readOciImage(pulled, 'copy'), await readOciImage(image.dir, image.tag));
  });
});
