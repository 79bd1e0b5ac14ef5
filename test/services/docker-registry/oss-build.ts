/**
 * distribution 2.8.2 with its `oss` driver: Debian's docker-registry is built without it, but the same
 * source, packaged as Go sources (golang-github-docker-distribution-dev and its dependencies), builds with
 * it under `-tags include_oss` (the driver is aliyungo's OSS client). ensureDockerRegistryOss() installs
 * the Go toolchain and the sources on first use (as root, like apt.ts; a ServiceUnavailableError
 * otherwise), builds the registry once into a cache directory (about 40 s) and returns the binary's path;
 * later calls, in this process or another, find the binary and do nothing. `.ci/run` builds it before the
 * tests (`node build/test/services/docker-registry/oss-build.js`) so the build stays out of the test log.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage, runCommand, ServiceUnavailableError } from './apt';

/** The Go package of distribution's registry command. */
const REGISTRY_GO_PACKAGE = 'github.com/docker/distribution/cmd/registry';
/** Debian's Go source tree (GOPATH layout). */
const DEBIAN_GOPATH = '/usr/share/gocode';

/** The Debian packages the build needs, each with a file that proves it is installed. */
const OSS_BUILD_PACKAGES: ReadonlyArray<{ pkg: string; file: string }> = [
  { pkg: 'golang-go', file: '/usr/bin/go' },
  { pkg: 'golang-github-docker-distribution-dev', file: `${DEBIAN_GOPATH}/src/github.com/docker/distribution/registry/storage/driver/oss/oss.go` },
  { pkg: 'golang-github-denverdino-aliyungo-dev', file: `${DEBIAN_GOPATH}/src/github.com/denverdino/aliyungo/oss/client.go` },
  { pkg: 'golang-github-shopify-logrus-bugsnag-dev', file: `${DEBIAN_GOPATH}/src/github.com/Shopify/logrus-bugsnag/bugsnag.go` },
  { pkg: 'golang-github-bshuster-repo-logrus-logstash-hook-dev', file: `${DEBIAN_GOPATH}/src/github.com/bshuster-repo/logrus-logstash-hook/logstash.go` },
];

/**
 * Where the binary is kept: $STOWAGE_DOCKER_REGISTRY_OSS_DIR, else `stowage/docker-registry-2.8.2-oss`
 * under $XDG_CACHE_HOME or ~/.cache.
 */
function dockerRegistryOssDir(): string {
  const explicit = process.env.STOWAGE_DOCKER_REGISTRY_OSS_DIR;
  if (explicit) return explicit;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'stowage', 'docker-registry-2.8.2-oss');
}

function dockerRegistryOssBinary(): string {
  return join(dockerRegistryOssDir(), 'registry');
}

let building: Promise<string> | undefined;

/**
 * The path of a registry binary with the oss driver, built from Debian's sources when missing.
 * Throws ServiceUnavailableError when the packages cannot be installed here (not root, no apt-get); a
 * failed build (broken sources) is a plain Error, since it is not a missing service.
 */
export function ensureDockerRegistryOss(): Promise<string> {
  const binary = dockerRegistryOssBinary();
  if (existsSync(binary)) return Promise.resolve(binary);
  building ??= build(binary).finally(() => {
    building = undefined;
  });
  return building;
}

async function build(binary: string): Promise<string> {
  for (const { pkg, file } of OSS_BUILD_PACKAGES) await ensureDebianPackage(pkg, file);
  const dir = dockerRegistryOssDir();
  await mkdir(dir, { recursive: true });
  // A private build cache, removed afterwards: the binary is what is kept. Building into a temporary
  // name and renaming makes the binary appear whole, even when two processes build at once.
  const scratch = await mkdtemp(join(tmpdir(), 'stowage-docker-registry-oss-build-'));
  const partial = `${binary}.${process.pid}.partial`;
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: scratch,
      GOPATH: DEBIAN_GOPATH,
      GO111MODULE: 'off',
      GOPROXY: 'off',
      GOFLAGS: '',
      GOCACHE: join(scratch, 'gocache'),
      GOTMPDIR: scratch,
    };
    const result = await runCommand('go', ['build', '-tags', 'include_oss', '-o', partial, REGISTRY_GO_PACKAGE], env);
    if (result.code !== 0 || !existsSync(partial)) {
      throw new Error(`go build -tags include_oss ${REGISTRY_GO_PACKAGE} exited ${result.code}:\n${result.output.trim().split('\n').slice(-30).join('\n')}`);
    }
    await rename(partial, binary);
    return binary;
  } finally {
    await rm(partial, { force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

// `node build/test/services/docker-registry/oss-build.js`: build now (CI does, before the tests) and print the path.
if (require.main === module) {
  const started = Date.now();
  ensureDockerRegistryOss().then(
    (path) => console.log(`docker-registry 2.8.2 with the oss driver: ${path} (${((Date.now() - started) / 1000).toFixed(1)} s)`),
    (err: unknown) => {
      console.error(err instanceof ServiceUnavailableError ? `unavailable: ${err.message}` : err);
      process.exitCode = 1;
    },
  );
}
