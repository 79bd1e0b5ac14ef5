import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { describeConformance } from '@stowage/conformance';
import { type S3Driver, s3DriverFactory } from '@stowage/s3';

/**
 * The same suite against any S3 endpoint (AWS, MinIO, Ceph RGW, R2...) configured from the
 * environment: every STOWAGE_S3_<PARAMETER> is distribution's config.yml parameter of that name,
 * e.g. STOWAGE_S3_BUCKET, STOWAGE_S3_REGION, STOWAGE_S3_REGIONENDPOINT,
 * STOWAGE_S3_FORCEPATHSTYLE; credentials come from STOWAGE_S3_ACCESSKEY/SECRETKEY or the SDK's
 * default chain (AWS_ACCESS_KEY_ID, profiles, roles). STOWAGE_S3_CREATEBUCKET=true creates the
 * bucket first. Each run works below a random rootdirectory and removes what it wrote.
 *
 *   STOWAGE_S3_BUCKET=... STOWAGE_S3_REGION=... npm run conformance -- --driver s3-env
 */
const PREFIX = 'STOWAGE_S3_';
const parameters: Record<string, string> = {};
for (const [name, value] of Object.entries(process.env)) {
  if (name.startsWith(PREFIX) && value !== undefined) parameters[name.slice(PREFIX.length).toLowerCase()] = value;
}

if (parameters.bucket === undefined) {
  describe('s3 on an endpoint from the environment', () => {
    it('(skipped: set STOWAGE_S3_BUCKET and STOWAGE_S3_REGION, and credentials, to run the suite against that bucket)', function () {
      this.skip();
    });
  });
} else {
  const createBucket = parameters.createbucket === 'true';
  delete parameters.createbucket;
  const root = `${(parameters.rootdirectory ?? '').replace(/\/+$/, '')}/stowage-conformance/run-${randomBytes(4).toString('hex')}`;
  const drivers: S3Driver[] = [];
  const newDriver = () => {
    const driver = s3DriverFactory({ ...parameters, rootdirectory: root });
    drivers.push(driver);
    return driver;
  };
  after(() => drivers.forEach((driver) => driver.destroy()));

  describeConformance(
    's3 (environment)',
    async () => {
      const driver = newDriver();
      if (createBucket) {
        await driver.client.send(new CreateBucketCommand({ Bucket: driver.bucket })).catch((err: { name?: string }) => {
          if (err.name !== 'BucketAlreadyOwnedByYou') throw err;
        });
      }
      return driver;
    },
    {
      profile: 'standard',
      newInstance: () => newDriver(),
      modTimeResolutionMs: 1000,
    },
  );
}
