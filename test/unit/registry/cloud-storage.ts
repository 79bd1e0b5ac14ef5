/**
 * The registry's cloud backends for tests, each on its local server: s3 on the local Swift's s3api,
 * swift on the local Swift (v1 auth), azure on Azurite, oss on the in-process OSS test server. Each
 * gets a fresh bucket/container and random root, and is described by its config.yml `storage:`
 * section in distribution's parameter names, so that a registry under test builds its driver the
 * way `stowage-registry serve` does. With `recordingProxy`, the driver talks to its server through
 * a recording pass-through (recording-proxy.ts), and the redirect URLs it hands out lead there too.
 */
import { randomBytes } from 'node:crypto';
import { AbortMultipartUploadCommand, DeleteBucketCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AzureDriver } from '@stowage/azure';
import { S3Driver, type S3DriverOptions } from '@stowage/s3';
import { swiftS3Bucket } from '../../helpers/swift-s3';
import { dropContainer, swiftContainer } from '../../helpers/swift-native';
import { startAzurite, stopAzurite } from '../../services/azurite';
import { startOssServer } from '../../services/oss/server';
import { requireService } from '../../services/require-service';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy';

export const CLOUD_DRIVERS = ['s3', 'swift', 'azure', 'oss'] as const;
export type CloudDriverName = (typeof CLOUD_DRIVERS)[number];

/** One bucket/container on a local server, as a registry's config.yml names it. */
export interface TestStorage {
  /** The driver's name in config.yml. */
  driverName: CloudDriverName;
  /** The driver's section of config.yml, distribution's parameter names. */
  parameters: Record<string, unknown>;
  /** Where the server is (the pass-through's address when there is one). */
  endpoint: string;
  /** The recording pass-through every request to the server goes through, when asked for. */
  proxy: RecordingProxy | undefined;
  /** Deletes the bucket/container with everything in it, stops the pass-through and what this started. */
  drop(): Promise<void>;
}

export interface TestStorageOptions {
  /** Route the driver (and its redirect URLs) through a recording pass-through. */
  recordingProxy?: boolean;
  /** Parameters added to (or replacing) the driver's section, e.g. `{ chunksize: 5242880 }`. */
  parameters?: Record<string, unknown>;
}

function randomId(): string {
  return randomBytes(4).toString('hex');
}

/** A fresh bucket/container on `driverName`'s local server (or the suite skips, saying why). */
export async function startTestStorage(context: Mocha.Context, driverName: CloudDriverName, options: TestStorageOptions = {}): Promise<TestStorage> {
  const storage = await start(context, driverName, options);
  return { ...storage, parameters: { ...storage.parameters, ...options.parameters } };
}

function start(context: Mocha.Context, driverName: CloudDriverName, options: TestStorageOptions): Promise<TestStorage> {
  switch (driverName) {
    case 's3':
      return s3Storage(context, options);
    case 'swift':
      return swiftStorage(context, options);
    case 'azure':
      return azureStorage(context, options);
    case 'oss':
      return ossStorage(options);
  }
}

async function maybeProxy(target: string, options: TestStorageOptions): Promise<RecordingProxy | undefined> {
  return options.recordingProxy ? startRecordingProxy(target) : undefined;
}

/** distribution's s3 parameters for an S3DriverOptions of test/helpers/swift-s3.ts. */
export function s3Parameters(options: S3DriverOptions, endpoint = options.regionEndpoint!): Record<string, unknown> {
  return {
    region: options.region,
    regionendpoint: endpoint,
    forcepathstyle: true,
    bucket: options.bucket,
    accesskey: options.accessKey,
    secretkey: options.secretKey,
    rootdirectory: options.rootDirectory,
    secure: false,
    v4auth: true,
    chunksize: options.chunkSize,
  };
}

async function s3Storage(context: Mocha.Context, options: TestStorageOptions): Promise<TestStorage> {
  const bucket = await swiftS3Bucket(context, 'registry');
  const proxy = await maybeProxy(bucket.regionEndpoint!, options).catch(async (err: unknown) => {
    await dropS3Bucket(bucket);
    throw err;
  });
  const endpoint = proxy?.url ?? bucket.regionEndpoint!;
  return {
    driverName: 's3',
    // The driver's default part size (10 MiB), as a user's config would have it.
    parameters: { ...s3Parameters(bucket, endpoint), chunksize: undefined },
    endpoint,
    proxy,
    async drop() {
      await proxy?.close();
      await dropS3Bucket(bucket);
    },
  };
}

/** Aborts the bucket's multipart uploads, deletes its objects, then the bucket. */
export async function dropS3Bucket(options: S3DriverOptions): Promise<void> {
  const admin = new S3Driver(options);
  const Bucket = options.bucket;
  try {
    for (;;) {
      const page = await admin.client.send(new ListMultipartUploadsCommand({ Bucket }));
      for (const upload of page.Uploads ?? []) {
        await admin.client.send(new AbortMultipartUploadCommand({ Bucket, Key: upload.Key!, UploadId: upload.UploadId! }));
      }
      if (!page.IsTruncated) break;
    }
    for (;;) {
      const page = await admin.client.send(new ListObjectsV2Command({ Bucket }));
      const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
      if (keys.length === 0) break;
      await admin.client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys, Quiet: true } }));
    }
    await admin.client.send(new DeleteBucketCommand({ Bucket }));
  } finally {
    admin.destroy();
  }
}

async function swiftStorage(context: Mocha.Context, options: TestStorageOptions): Promise<TestStorage> {
  // Sets the account's TempURL key, from which the driver signs its redirect URLs.
  const container = await swiftContainer(context, 'registry');
  const proxy = await maybeProxy(container.service.endpoint, options);
  const endpoint = proxy?.url ?? container.service.endpoint;
  return {
    driverName: 'swift',
    parameters: {
      // tempauth builds the storage URL from the Host the login went to: the pass-through's.
      authurl: `${endpoint}/auth/v1.0`,
      username: container.username,
      password: container.password,
      container: container.container,
      prefix: container.prefix,
    },
    endpoint,
    proxy,
    async drop() {
      await proxy?.close();
      await dropContainer(container);
    },
  };
}

async function azureStorage(context: Mocha.Context, options: TestStorageOptions): Promise<TestStorage> {
  const azurite = await requireService(context, 'Azurite', () => startAzurite());
  const id = randomId();
  const container = `stowage-registry-${id}`;
  const direct = { serviceUrl: azurite.serviceUrl, accountName: azurite.accountName, accountKey: azurite.accountKey, container };
  let proxy: RecordingProxy | undefined;
  try {
    proxy = await maybeProxy(`http://127.0.0.1:${azurite.port}`, options);
  } catch (err) {
    await stopAzurite();
    throw err;
  }
  const endpoint = proxy?.url ?? `http://127.0.0.1:${azurite.port}`;
  return {
    driverName: 'azure',
    parameters: {
      accountname: azurite.accountName,
      accountkey: azurite.accountKey,
      container,
      serviceurl: `${endpoint}/${azurite.accountName}`,
      rootdirectory: `root-${id}`,
    },
    endpoint,
    proxy,
    async drop() {
      await proxy?.close();
      try {
        await new AzureDriver(direct).containerClient.deleteIfExists();
      } finally {
        await stopAzurite();
      }
    },
  };
}

async function ossStorage(options: TestStorageOptions): Promise<TestStorage> {
  const bucket = `registry-${randomId()}`;
  const server = await startOssServer({ buckets: [bucket] });
  let proxy: RecordingProxy | undefined;
  try {
    proxy = await maybeProxy(`http://127.0.0.1:${server.port}`, options);
  } catch (err) {
    await server.close();
    throw err;
  }
  // The driver takes a host name, not an IP address (the server and the pass-through listen on 127.0.0.1).
  const endpoint = proxy ? `http://localhost:${proxy.port}` : server.endpoint;
  return {
    driverName: 'oss',
    parameters: {
      accesskeyid: server.accessKeyId,
      accesskeysecret: server.accessKeySecret,
      region: server.region,
      // The bucket in the path: no `<bucket>.host` name to resolve.
      endpoint,
      pathstyle: true,
      secure: false,
      bucket,
      rootdirectory: `/root-${randomId()}`,
    },
    endpoint,
    proxy,
    async drop() {
      await proxy?.close();
      await server.close(); // its storage is this process's memory
    },
  };
}
