import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MiB } from '@stowage/core';
import { describeConformance } from '@stowage/conformance';
import { SwiftDriver, type SwiftDriverOptions } from '@stowage/swift';
import { swiftDriverInternals } from '@stowage/swift/internal';
import { requireService } from '../services/require-service';
import { CROSS_PROCESS_UPLOAD, stageCrossProcessUpload } from './child-process';
import { startSwift, type SwiftService } from '../services/swift';

/** The TempURL key the tests put on the local Swift's test account. */
export const TEMP_URL_KEY = 'stowage-tempurl-key';

/** What a local Swift API gives the tests (the local Swift, Ceph RGW's Swift API): v1 auth and a user. */
export interface SwiftV1Service {
  authUrl: string;
  user: string;
  key: string;
}

/**
 * SwiftDriver options (auth v1) for a fresh container on `service` and a random prefix. The segment
 * size is the driver's minimum, so segmented paths are exercised by modest sizes. The account gets
 * TEMP_URL_KEY as its TempURL key.
 */
export async function newSwiftContainer<S extends SwiftV1Service>(
  service: S,
  label: string,
  extra: Partial<SwiftDriverOptions> = {},
): Promise<SwiftDriverOptions & { service: S }> {
  const options: SwiftDriverOptions = {
    authUrl: service.authUrl,
    username: service.user,
    password: service.key,
    container: `stowage-${label}-${randomBytes(4).toString('hex')}`,
    prefix: `run-${randomBytes(4).toString('hex')}`,
    chunkSize: 1 * MiB,
    ...extra,
  };
  const admin = new SwiftDriver(options);
  try {
    const response = await swiftDriverInternals(admin).client.request({ method: 'POST', headers: { 'x-account-meta-temp-url-key': TEMP_URL_KEY }, ok: [204] });
    await response.body.dump();
  } finally {
    await admin.destroy();
  }
  return { ...options, service };
}

/** Starts the local Swift (or skips the suite, saying why); then newSwiftContainer on it. */
export async function swiftContainer(
  context: Mocha.Context,
  label: string,
  extra: Partial<SwiftDriverOptions> = {},
): Promise<SwiftDriverOptions & { service: SwiftService }> {
  return newSwiftContainer(await requireService(context, 'OpenStack Swift', startSwift), label, extra);
}

/** Deletes a test container and everything in it (objects first: Swift refuses to delete a full container). */
export async function dropContainer(options: SwiftDriverOptions): Promise<void> {
  const driver = new SwiftDriver({ ...options, createContainer: false });
  try {
    const names: string[] = [];
    for await (const object of swiftDriverInternals(driver).container.listAll('')) names.push(object.name);
    await swiftDriverInternals(driver).container.deleteMany(names, {});
    const response = await swiftDriverInternals(driver).client.request({ method: 'DELETE', container: options.container, ok: [204, 404, 409] });
    await response.body.dump();
  } finally {
    await driver.destroy();
  }
}

/**
 * The conformance suite over SwiftDrivers made by `make` (each call a new instance, as a new
 * process would build one); they are destroyed when the enclosing describe ends.
 */
export function describeSwiftConformance(title: string, make: () => SwiftDriver): void {
  const drivers: SwiftDriver[] = [];
  const newDriver = () => {
    const driver = make();
    drivers.push(driver);
    return driver;
  };
  after(() => Promise.all(drivers.map((driver) => driver.destroy())));
  // 'standard' profile, as for the other network drivers: a 256 MiB large stream.
  describeConformance(title, async () => newDriver(), {
    profile: 'standard',
    newInstance: () => newDriver(),
    // X-Timestamp is exact, but listings and Last-Modified go by the second.
    modTimeResolutionMs: 1000,
  });
}

/**
 * Stages CROSS_PROCESS_UPLOAD in a child process on a container with 2 MiB segments, then checks
 * through `driver` that the upload is only what Swift stores: its marker, and segments of 2 + 2 + 2
 * MiB full ones and the 1 MiB that close() flushed. Returns the marker's generation.
 */
export async function stageSegmentedCrossProcessUpload(driver: SwiftDriver, options: SwiftDriverOptions): Promise<string> {
  const { path } = CROSS_PROCESS_UPLOAD;
  await stageCrossProcessUpload(require.resolve('@stowage/swift'), 'SwiftDriver', options);
  const marker = await swiftDriverInternals(driver).uploads.readMarker(path, {});
  assert.ok(marker, 'the upload marker is stored');
  const segments = await swiftDriverInternals(driver).largeObjects.listGeneration(path, marker.generation, {});
  assert.deepEqual(
    segments.map((s) => s.size),
    [2 * MiB, 2 * MiB, 2 * MiB, MiB],
  );
  return marker.generation;
}
