/**
 * The storage the CLI tests run against, each given to the bin as a user would: the filesystem
 * driver with --driver/--param, and S3 (the local Swift's s3api) from a distribution config.yml.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { createDriver, type StorageDriver } from '@stowage/core';
import '@stowage/filesystem';
import { S3Driver } from '@stowage/s3';
import { swiftS3Bucket } from '../../helpers/swift-s3';
import { tempDir } from './run-stowage';

export interface CliBackend {
  /** The driver options for the bin, e.g. ['--config', '/tmp/x/config.yml']. */
  args: string[];
  /** The same storage in this process, for staging and checking behind the CLI's back. */
  driver: StorageDriver;
  /** Secret values that must never appear in the CLI's output. */
  secrets: string[];
  cleanUp(): Promise<void>;
}

export async function filesystemBackend(): Promise<CliBackend> {
  const dir = await tempDir('fs');
  const root = join(dir.path, 'root');
  return {
    args: ['--driver', 'filesystem', '--param', `rootdirectory=${root}`],
    driver: createDriver('filesystem', { rootdirectory: root }),
    secrets: [],
    cleanUp: dir.remove,
  };
}

/**
 * A fresh bucket on the local Swift (started, or the suite skipped saying why), configured through
 * a config.yml that also has the registry's own storage keys, which the CLI must skip.
 */
export async function s3Backend(context: Mocha.Context, label: string): Promise<CliBackend> {
  const options = await swiftS3Bucket(context, label);
  const dir = await tempDir('s3');
  const config = join(dir.path, 'config.yml');
  const storage = {
    s3: {
      bucket: options.bucket,
      region: options.region,
      regionendpoint: options.regionEndpoint,
      forcepathstyle: true,
      accesskey: options.accessKey,
      secretkey: options.secretKey,
      rootdirectory: options.rootDirectory,
      chunksize: options.chunkSize,
    },
    delete: { enabled: true },
    cache: { blobdescriptor: 'inmemory' },
    maintenance: { uploadpurging: { enabled: false } },
  };
  // JSON is YAML; the CLI reads it with a YAML parser as it would a hand-written config.yml.
  await writeFile(config, JSON.stringify({ version: 0.1, storage, http: { addr: ':5000' } }, null, 2));
  const driver = new S3Driver(options);
  return {
    args: ['--config', config],
    driver,
    secrets: [options.secretKey!],
    async cleanUp() {
      // Every test cleans up, unless it failed: empty the bucket so it can go.
      await driver.purgeUploads(new Date(Date.now() + 60_000)).catch(() => undefined);
      for (const child of await driver.list('/').catch(() => [])) await driver.delete(child).catch(() => undefined);
      await driver.client.send(new DeleteBucketCommand({ Bucket: options.bucket })).catch(() => undefined);
      driver.destroy();
      await dir.remove();
    },
  };
}
