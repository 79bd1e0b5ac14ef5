/**
 * Two-way interop on one OSS bucket between this registry (its oss driver, on ali-oss) and an independent
 * client: distribution 2.8.2 rebuilt with its own oss driver (aliyungo), see
 * test/services/docker-registry/oss-build.ts. Both serve the local OSS server's bucket under the same
 * rootdirectory; an image pushed with skopeo through one is pulled through the other byte for byte.
 *
 * How 2.8.2 reaches the local server: its driver addresses the bucket only in the host name
 * (`endpoint: <bucket>.oss-cn-hangzhou.aliyuncs.com:PORT`, `secure: false`) and aliyungo writes every
 * request in absolute form (`GET http://<endpoint>/<key> HTTP/1.1`, it sets URL.Opaque). That name does not
 * resolve here, so the Go process gets `HTTP_PROXY=http://127.0.0.1:PORT` (the OSS server): Go then
 * connects to 127.0.0.1:PORT instead of resolving the name, and sends the very same request line (aliyungo's
 * Opaque URL is absolute-form with or without a proxy). No /etc/hosts edit, no root, nothing global; the
 * server's onRequest hook shows what arrived.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, startRegistry, type RunningRegistry } from '@stowage/example-registry';
import { type DockerRegistryInstance, ensureDockerRegistry, startDockerRegistry } from '../../services/docker-registry';
import { makeRandomOciImage, type RandomOciImage, readOciImage } from '../../services/docker-registry/oci-image';
import { ensureDockerRegistryOss } from '../../services/docker-registry/oss-build';
import { ensureSkopeo, pullImage, pushImage } from '../../services/docker-registry/skopeo';
import { startOssServer, type ObservedRequest, type OssServerHandle } from '../../services/oss/server';
import { requireService } from '../../services/require-service';

const MiB = 1024 * 1024;
const REGION = 'oss-cn-hangzhou';
const ROOT = '/registry';
/** distribution's smallest oss chunksize: a layer of 11 MiB is a three-part upload on either side. */
const CHUNK_SIZE = 5 * MiB;
const BUCKET = 'stowage-interop';

/** The environment of 2.8.2: no AWS_* or REGISTRY_* variables, and the OSS server as its HTTP proxy. */
function goEnvironment(ossPort: number): NodeJS.ProcessEnv {
  const drop = /^(AWS_|REGISTRY_)|^(http_proxy|https_proxy|all_proxy|no_proxy|request_method)$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !drop.test(name)));
  return { ...env, HTTP_PROXY: `http://127.0.0.1:${ossPort}` };
}

/** This registry on the oss driver (path-style through localhost), built from config.yml as `serve` does. */
async function startStowageRegistry(oss: OssServerHandle, bucket: string): Promise<RunningRegistry> {
  const yaml = [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  oss:',
    `    accesskeyid: ${oss.accessKeyId}`,
    `    accesskeysecret: ${oss.accessKeySecret}`,
    `    region: ${REGION}`,
    `    bucket: ${bucket}`,
    `    endpoint: ${oss.endpoint}`,
    '    pathstyle: true',
    '    secure: false',
    `    rootdirectory: ${ROOT}`,
    `    chunksize: ${CHUNK_SIZE}`,
    '  delete:',
    '    enabled: true',
    '  redirect:',
    '    disable: true', // the blobs' bytes go through this registry's driver
    'http:',
    '  addr: 127.0.0.1:0',
  ].join('\n');
  return startRegistry(parseConfig(yaml, 'interop-oss config'));
}

describe('registry interop with distribution 2.8.2 (oss driver, aliyungo) on one OSS bucket', function () {
  let work: string;
  let image: RandomOciImage;
  let binary: string;
  let oss: OssServerHandle | undefined;
  let requests: ObservedRequest[] = [];
  let dockerRegistry: DockerRegistryInstance | undefined;
  let registry: RunningRegistry | undefined;

  before(async function () {
    this.timeout(900_000); // a first use may apt-get install Go and the sources, then build (about 40 s)
    await requireService(this, 'skopeo', ensureSkopeo);
    await requireService(this, 'docker-registry', ensureDockerRegistry);
    binary = await requireService(this, 'docker-registry 2.8.2 with the oss driver', ensureDockerRegistryOss);
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-interop-oss-'));
    image = await makeRandomOciImage(join(work, 'image'), [11 * MiB, 1 * MiB, 1000], 'v1');
  });

  beforeEach(async () => {
    requests = [];
    oss = await startOssServer({ buckets: [BUCKET], onRequest: (request) => requests.push(request) });
  });

  afterEach(async () => {
    await dockerRegistry?.stop();
    await registry?.close();
    await oss?.close();
    dockerRegistry = undefined;
    registry = undefined;
    oss = undefined;
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function startDistribution(bucket: string): Promise<DockerRegistryInstance> {
    const server = oss!;
    return startDockerRegistry({
      binary,
      env: goEnvironment(server.port),
      storage: {
        oss: {
          accesskeyid: server.accessKeyId,
          accesskeysecret: server.accessKeySecret,
          region: REGION,
          bucket,
          endpoint: `${bucket}.${REGION}.aliyuncs.com:${server.port}`,
          secure: false,
          rootdirectory: ROOT,
          chunksize: CHUNK_SIZE,
        },
      },
      // 2.8.2's oss URLFor signs for the region's public endpoint, never the configured one.
      redirectDisable: true,
    });
  }

  /** What 2.8.2 sent: absolute-form targets naming the bucket's host, and none refused. */
  function assertDistributionRequests(bucket: string): void {
    const prefix = `http://${bucket}.${REGION}.aliyuncs.com:${oss!.port}/`;
    const fromGo = requests.filter((request) => request.target.startsWith(prefix));
    assert.ok(fromGo.length > 10, `2.8.2 sent ${fromGo.length} absolute-form requests`);
    // The bucket is only in the host name: the paths are keys (or / for listings), never /<bucket>/...
    assert.deepEqual([...new Set(fromGo.map((request) => request.host))], [prefix.slice('http://'.length, -1)]);
    assert.deepEqual(
      fromGo.filter((request) => request.target.startsWith(`${prefix}${bucket}/`)),
      [],
    );
    assert.ok(
      fromGo.some(
        (request) => request.method === 'GET' && /[?&]max-keys=1(&|$)/.test(request.target) && request.target.includes(`prefix=${encodeURIComponent(ROOT)}`),
      ),
      "2.8.2's start-up listing of the rootdirectory",
    );
    const refused = fromGo.filter((request) => request.status === 403 || request.status >= 500);
    assert.deepEqual(refused, [], 'requests of 2.8.2 that the server refused');
  }

  function objectKeys(bucket: string): string[] {
    return [...oss!.store.buckets.get(bucket)!.objects.keys()];
  }

  it('an image pushed by distribution 2.8.2 (aliyungo) into a bucket is pulled through this registry identical', async function () {
    this.timeout(300_000);
    dockerRegistry = await startDistribution(BUCKET);
    await pushImage(image.dir, image.tag, dockerRegistry.host, 'interop/from-distribution');
    await dockerRegistry.stop();
    dockerRegistry = undefined;
    assertDistributionRequests(BUCKET);
    assert.ok(objectKeys(BUCKET).includes('registry/docker/registry/v2/repositories/interop/from-distribution/_manifests/tags/v1/current/link'));

    registry = await startStowageRegistry(oss!, BUCKET);
    const tags = await fetch(`${registry.url}/v2/interop/from-distribution/tags/list`);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
    const catalog = await fetch(`${registry.url}/v2/_catalog`);
    assert.deepEqual(((await catalog.json()) as { repositories: string[] }).repositories, ['interop/from-distribution']);
    const pulled = join(work, 'pulled-through-stowage');
    await pullImage(registry.url.slice('http://'.length), 'interop/from-distribution', image.tag, pulled, 'copy');
    assert.deepEqual(await readOciImage(pulled, 'copy'), await readOciImage(image.dir, image.tag));
  });

  it('an image pushed through this registry into a bucket is pulled through distribution 2.8.2 (aliyungo) identical', async function () {
    this.timeout(300_000);
    registry = await startStowageRegistry(oss!, BUCKET);
    await pushImage(image.dir, image.tag, registry.url.slice('http://'.length), 'interop/from-stowage');
    await registry.close();
    registry = undefined;
    assert.ok(objectKeys(BUCKET).includes('registry/docker/registry/v2/repositories/interop/from-stowage/_manifests/tags/v1/current/link'));

    dockerRegistry = await startDistribution(BUCKET);
    const tags = await fetch(`${dockerRegistry.url}/v2/interop/from-stowage/tags/list`);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
    const catalog = await fetch(`${dockerRegistry.url}/v2/_catalog`);
    assert.deepEqual(((await catalog.json()) as { repositories: string[] }).repositories, ['interop/from-stowage']);
    const pulled = join(work, 'pulled-through-distribution');
    await pullImage(dockerRegistry.host, 'interop/from-stowage', image.tag, pulled, 'copy');
    assert.deepEqual(await readOciImage(pulled, 'copy'), await readOciImage(image.dir, image.tag));
    assertDistributionRequests(BUCKET);
  });
});
