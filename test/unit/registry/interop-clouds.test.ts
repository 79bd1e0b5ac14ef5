import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB } from '@stowage/core';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';
import { swiftS3Bucket } from '../../helpers/swift-s3';
import { type DockerRegistryInstance, ensureDockerRegistry, startDockerRegistry } from '../../services/docker-registry';
import { makeRandomOciImage, type RandomOciImage, readOciImage } from '../../services/docker-registry/oci-image';
import { ensureSkopeo, pullImage, pushImage } from '../../services/docker-registry/skopeo';
import { requireService } from '../../services/require-service';
import { dropS3Bucket, s3Parameters } from './cloud-storage';
import { call, startTestRegistry, type TestRegistry } from './helpers';

// Parts and segments small enough that the image's first layer (6 MiB) is written in several:
// S3's minimum part size (5 MiB) and distribution's minimum Swift segment size (1 MiB), with which
// 2.8.2 writes that layer as a DLO manifest over 7 segments.
const S3_CHUNK_SIZE = 5 * MiB;
const SWIFT_CHUNK_SIZE = 1 * MiB;
const LAYER_SIZES = [6 * MiB, 1 * MiB, 1000];

/**
 * Two-way interop with Debian's docker-registry (distribution 2.8.2) over one bucket of the local
 * Swift's s3api, and over one Swift container (v1 auth): both registries get the very same
 * config.yml storage section. 2.8.2 never creates S3 buckets (the test does) and runs without
 * AWS_* or REGISTRY_* variables in its environment (startDockerRegistry sees to it).
 */
describe('registry interop with docker-registry 2.8.2 on the local Swift (s3api and native)', function () {
  let work: string;
  let image: RandomOciImage;

  before(async function () {
    this.timeout(600_000); // a first use may apt-get install both
    await requireService(this, 'skopeo', ensureSkopeo);
    await requireService(this, 'docker-registry', ensureDockerRegistry);
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-interop-clouds-'));
    image = await makeRandomOciImage(join(work, 'image'), LAYER_SIZES, 'v1');
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const backends = {
    s3: async (context: Mocha.Context) => {
      const bucket = await swiftS3Bucket(context, 'interop');
      return { parameters: s3Parameters({ ...bucket, chunkSize: S3_CHUNK_SIZE }), drop: () => dropS3Bucket(bucket), swift: undefined };
    },
    swift: async (context: Mocha.Context) => {
      const container = await swiftContainer(context, 'interop', { chunkSize: SWIFT_CHUNK_SIZE });
      const parameters = {
        authurl: container.authUrl,
        username: container.username,
        password: container.password,
        container: container.container,
        prefix: container.prefix,
        chunksize: SWIFT_CHUNK_SIZE,
      };
      return { parameters, drop: () => dropContainer(container), swift: container as SwiftDriverOptions };
    },
  };

  for (const driverName of ['s3', 'swift'] as const) {
    describe(driverName, function () {
      let storage: Awaited<ReturnType<(typeof backends)[typeof driverName]>> | undefined;
      let dockerRegistry: DockerRegistryInstance | undefined;
      let registry: TestRegistry | undefined;

      before(async function () {
        this.timeout(600_000); // a first use may install Swift
        storage = await backends[driverName](this);
      });

      afterEach(async () => {
        await dockerRegistry?.stop();
        await registry?.close();
        dockerRegistry = undefined;
        registry = undefined;
      });

      after(async () => {
        await storage?.drop();
      });

      it(`an image pushed by docker-registry into the ${driverName === 's3' ? 'bucket' : 'container'} is pulled through this registry identical`, async () => {
        dockerRegistry = await startDockerRegistry({ storage: { [driverName]: storage!.parameters } });
        await pushImage(image.dir, image.tag, dockerRegistry.host, 'interop/from-distribution').catch((err: Error) => {
          throw new Error(`${err.message}\ndocker-registry's output:\n${dockerRegistry?.output().slice(-3000)}`);
        });
        await dockerRegistry.stop();
        dockerRegistry = undefined;
        if (storage!.swift) await assertDloManifest(storage!.swift, image.layers[0]!.digest);

        registry = await startTestRegistry(driverName, { storage: { driverName, parameters: storage!.parameters } });
        assert.deepEqual((await call(registry, 'GET', '/v2/interop/from-distribution/tags/list')).json().tags, ['v1']);
        assert.ok((await call(registry, 'GET', '/v2/_catalog')).json().repositories.includes('interop/from-distribution'));
        const pulled = join(work, `pulled-through-stowage-${driverName}`);
        await pullImage(registry.host, 'interop/from-distribution', image.tag, pulled, 'copy');
        assert.deepEqual(await readOciImage(pulled, 'copy'), await readOciImage(image.dir, image.tag));
      });

      it(`an image pushed through this registry into the ${driverName === 's3' ? 'bucket' : 'container'} is pulled through docker-registry identical`, async () => {
        registry = await startTestRegistry(driverName, { storage: { driverName, parameters: storage!.parameters } });
        await pushImage(image.dir, image.tag, registry.host, 'interop/from-stowage');
        await registry.close();
        registry = undefined;

        dockerRegistry = await startDockerRegistry({ storage: { [driverName]: storage!.parameters } });
        const tags = await fetch(`${dockerRegistry.url}/v2/interop/from-stowage/tags/list`);
        assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
        const pulled = join(work, `pulled-through-distribution-${driverName}`);
        await pullImage(dockerRegistry.host, 'interop/from-stowage', image.tag, pulled, 'copy').catch((err: Error) => {
          throw new Error(`${err.message}\ndocker-registry's output:\n${dockerRegistry?.output().slice(-3000)}`);
        });
        assert.deepEqual(await readOciImage(pulled, 'copy'), await readOciImage(image.dir, image.tag));
      });
    });
  }
});

/** 2.8.2 stored the layer as a DLO manifest (X-Object-Manifest), the case Stowage's swift driver must read. */
async function assertDloManifest(options: SwiftDriverOptions, digest: string): Promise<void> {
  const driver = new SwiftDriver({ ...options, createContainer: false });
  try {
    const hex = digest.slice('sha256:'.length);
    const response = await swiftDriverInternals(driver).client.request({
      method: 'HEAD',
      container: options.container,
      object: `${options.prefix}/files/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`,
      ok: [200],
    });
    await response.body.dump();
    assert.ok(response.headers['x-object-manifest'], `the layer ${digest} written by docker-registry is a DLO manifest`);
  } finally {
    await driver.destroy();
  }
}
