/**
 * Every cloud driver's conformance suite through the fault proxy (test/services/fault-proxy), 5% of
 * requests faulted (503/500/429 without forwarding, resets before and after forwarding, bodies cut in
 * half, 2 s delays), then every committed object read back directly and compared by sha256.
 *
 * `npm test` runs the quick profile. The standard profile, and a clean baseline through the same
 * proxy (rate 0), one driver at a time:
 *
 *   STOWAGE_CONFORMANCE_PROFILE=standard npx mocha --no-config --timeout 600000 build/test/conformance/faults.test.js -g '^s3 '
 *   STOWAGE_FAULT_RATE=0 STOWAGE_CONFORMANCE_PROFILE=standard npx mocha ... (the same)
 *
 * STOWAGE_FAULT_SEED replays a run's faults (each run prints its seed).
 */
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { AzureDriver, type AzureDriverOptions } from '@stowage/azure';
import { OssDriver, type OssDriverOptions } from '@stowage/oss';
import { ossDriverInternals } from '@stowage/oss/internal';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { SwiftDriver } from '@stowage/swift';
import { describeFaultConformance } from '../helpers/fault-run';
import { newS3Bucket } from '../helpers/swift-s3';
import { dropContainer, swiftContainer } from '../helpers/swift-native';
import { startAzurite, stopAzurite } from '../services/azurite';
import { FAULT_KINDS } from '../services/fault-proxy';
import { startOssServer } from '../services/oss/server';
import { requireService } from '../services/require-service';
import { startSwift } from '../services/swift';

const runId = (): string => randomBytes(5).toString('hex');

describeFaultConformance('s3 (Swift s3api)', {
  async setup(context) {
    const service = await requireService(context, 'OpenStack Swift (s3api)', startSwift);
    const options: S3DriverOptions = await newS3Bucket(service, 'faults');
    const direct = new S3Driver(options);
    return {
      upstream: service.endpoint,
      driver: (endpoint) => new S3Driver({ ...options, regionEndpoint: endpoint }),
      direct,
      async cleanup() {
        await direct.client.send(new DeleteBucketCommand({ Bucket: options.bucket })).catch((err) => {
          console.log(`      (bucket ${options.bucket} left in place: ${String(err)})`);
        });
        direct.destroy();
      },
    };
  },
});

describeFaultConformance('swift', {
  async setup(context) {
    const options = await swiftContainer(context, 'faults');
    const direct = new SwiftDriver(options);
    return {
      upstream: options.service.endpoint,
      // The storage URL tempauth hands out follows the Host the login went to: the proxy.
      driver: (endpoint) => new SwiftDriver({ ...options, authUrl: `${endpoint}/auth/v1.0` }),
      direct,
      async cleanup() {
        await direct.destroy();
        await dropContainer(options);
      },
    };
  },
});

describeFaultConformance('azure (Azurite)', {
  // Azure Storage throttles with 503 (ServerBusy), never 429, and the SDK retries 500 and 503 only.
  kinds: FAULT_KINDS.filter((kind) => kind !== 'status-429'),
  async setup(context) {
    const azurite = await requireService(context, 'Azurite', () => startAzurite());
    const id = runId();
    const options: AzureDriverOptions = {
      serviceUrl: azurite.serviceUrl,
      accountName: azurite.accountName,
      accountKey: azurite.accountKey,
      container: `stowage-faults-${id}`,
      rootDirectory: `root-${id}`,
    };
    const direct = new AzureDriver(options);
    await direct.containerClient.createIfNotExists();
    const path = new URL(azurite.serviceUrl).pathname;
    return {
      upstream: `http://127.0.0.1:${azurite.port}`,
      driver: (endpoint) => new AzureDriver({ ...options, serviceUrl: `${endpoint}${path}` }),
      direct,
      async cleanup() {
        await direct.containerClient.deleteIfExists();
        await stopAzurite();
      },
    };
  },
});

describeFaultConformance('oss (local server)', {
  async setup() {
    const server = await startOssServer();
    const id = runId();
    const options: OssDriverOptions = {
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      region: server.region,
      endpoint: server.endpoint,
      pathStyle: true,
      bucket: `faults-${id}`,
      rootDirectory: `/root-${id}/`,
      authorizationVersion: 'v4',
    };
    const direct = new OssDriver(options);
    await ossDriverInternals(direct).client.putBucket(options.bucket);
    return {
      upstream: `http://127.0.0.1:${server.port}`,
      // The driver refuses an IP address as endpoint (OSS endpoints are host names); the proxy listens on 127.0.0.1.
      driver: (endpoint) => new OssDriver({ ...options, endpoint: endpoint.replace('127.0.0.1', 'localhost') }),
      direct,
      cleanup: () => server.close(),
    };
  },
});
