/**
 * The conformance suite on the OSS driver: against the local OSS server (test/services/oss), once
 * with V1 and once with V4 signatures, and against a real bucket when STOWAGE_OSS_* say which.
 *
 * Real bucket (the same suite, in its own random root directory, cleaned up test by test):
 *
 *   STOWAGE_OSS_ACCESS_KEY_ID=... STOWAGE_OSS_ACCESS_KEY_SECRET=... \
 *   STOWAGE_OSS_REGION=oss-cn-hangzhou STOWAGE_OSS_BUCKET=my-test-bucket \
 *   npm run conformance -- --driver oss
 *
 * Optional: STOWAGE_OSS_ENDPOINT (a custom host or URL), STOWAGE_OSS_STS_TOKEN,
 * STOWAGE_OSS_AUTH_VERSION (v1 | v4, default v4), STOWAGE_OSS_ROOTDIRECTORY (a parent for the
 * random root), STOWAGE_OSS_ENCRYPT=true (with STOWAGE_OSS_ENCRYPTION_KEY_ID for KMS),
 * STOWAGE_OSS_INTERNAL=true, STOWAGE_OSS_CHUNKSIZE.
 */
import { randomBytes } from 'node:crypto';
import { describeConformance, type ConformanceOptions } from '@stowage/conformance';
import { OssDriver, type OssDriverOptions } from '@stowage/oss';
import { ossDriverInternals } from '@stowage/oss/internal';
import { startOssServer, type OssServerHandle } from '../services/oss/server';

const hooks: Pick<ConformanceOptions, 'newInstance'> = {
  // A new process would build its own client over the same bucket and root directory.
  newInstance: (driver) => new OssDriver((driver as OssDriver).options),
};

function randomName(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

// One local server for both runs, stopped when the file's tests end.
let server: OssServerHandle | undefined;
after(async () => {
  await server?.close();
  server = undefined;
});

async function localDriver(authorizationVersion: 'v1' | 'v4'): Promise<OssDriver> {
  server ??= await startOssServer();
  // A fresh bucket and a random root directory per run: nothing of another run can interfere.
  const bucket = randomName(`conformance-${authorizationVersion}`);
  const driver = new OssDriver({
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
    region: server.region,
    endpoint: server.endpoint,
    // Path-style: `<bucket>.localhost` needs no name resolution this way.
    pathStyle: true,
    bucket,
    rootDirectory: `/${randomName('root')}/`,
    authorizationVersion,
  });
  await ossDriverInternals(driver).client.putBucket(bucket);
  return driver;
}

// 'standard' (256 MiB large stream) rather than 'full': the local server keeps objects in this
// process's memory, so distribution's 5 GiB stream would measure the allocator, not the driver.
// STOWAGE_CONFORMANCE_PROFILE still overrides it.
for (const version of ['v1', 'v4'] as const) {
  describeConformance(`oss (local server, ${version.toUpperCase()} signatures)`, () => localDriver(version), {
    profile: 'standard',
    ...hooks,
    // OSS's Last-Modified has whole seconds.
    modTimeResolutionMs: 1000,
  });
}

const env = process.env;
const REQUIRED_ENV = ['STOWAGE_OSS_ACCESS_KEY_ID', 'STOWAGE_OSS_ACCESS_KEY_SECRET', 'STOWAGE_OSS_REGION', 'STOWAGE_OSS_BUCKET'];
const missing = REQUIRED_ENV.filter((name) => !env[name]);

if (missing.length === 0) {
  const parent = (env.STOWAGE_OSS_ROOTDIRECTORY ?? '').replace(/\/+$/, '');
  const options: OssDriverOptions = {
    accessKeyId: env.STOWAGE_OSS_ACCESS_KEY_ID!,
    accessKeySecret: env.STOWAGE_OSS_ACCESS_KEY_SECRET!,
    region: env.STOWAGE_OSS_REGION!,
    bucket: env.STOWAGE_OSS_BUCKET!,
    rootDirectory: `${parent}/${randomName('stowage-conformance')}/`,
    authorizationVersion: env.STOWAGE_OSS_AUTH_VERSION?.toLowerCase() === 'v1' ? 'v1' : 'v4',
    ...(env.STOWAGE_OSS_ENDPOINT ? { endpoint: env.STOWAGE_OSS_ENDPOINT } : {}),
    ...(env.STOWAGE_OSS_STS_TOKEN ? { stsToken: env.STOWAGE_OSS_STS_TOKEN } : {}),
    ...(env.STOWAGE_OSS_INTERNAL === 'true' ? { internal: true } : {}),
    ...(env.STOWAGE_OSS_ENCRYPT === 'true' ? { encrypt: true } : {}),
    ...(env.STOWAGE_OSS_ENCRYPTION_KEY_ID ? { encryptionKeyId: env.STOWAGE_OSS_ENCRYPTION_KEY_ID } : {}),
    ...(env.STOWAGE_OSS_CHUNKSIZE ? { chunkSize: Number(env.STOWAGE_OSS_CHUNKSIZE) } : {}),
  };
  describeConformance(`oss (real bucket ${options.bucket} in ${options.region}, root ${options.rootDirectory})`, () => new OssDriver(options), {
    profile: 'standard',
    ...hooks,
    modTimeResolutionMs: 1000,
  });
} else {
  describe('oss: conformance against a real OSS bucket', () => {
    it('runs when STOWAGE_OSS_ACCESS_KEY_ID, _ACCESS_KEY_SECRET, _REGION and _BUCKET are set', function () {
      console.log(`    skipped: no real OSS bucket configured (${missing.join(', ')} not set); see test/conformance/oss.test.ts`);
      this.skip();
    });
  });
}
