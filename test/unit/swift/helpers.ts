// Shared pieces of the Swift driver's unit tests (test/unit/swift/*.test.ts).
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { readAll, type FileWriter } from '@stowage/core';
import type { SwiftDriver } from '@stowage/swift';
import { swiftDriverInternals, type SwiftDriverInternals } from '@stowage/swift/internal';

/** Random bytes: content whose every byte matters (a shifted or torn read cannot match). */
export const bytes = (size: number): Buffer => randomBytes(Math.round(size));

export async function readStream(stream: Readable): Promise<Buffer> {
  return readAll(stream);
}

/** Sends a raw authenticated request and returns its status and body (read whole). */
export async function raw(
  driver: SwiftDriver,
  request: Parameters<SwiftDriverInternals['client']['request']>[0],
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const response = await swiftDriverInternals(driver).client.request(request);
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body };
}

/** Every object name under `prefix` (a raw container listing, following markers). */
export async function namesUnder(driver: SwiftDriver, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const object of swiftDriverInternals(driver).container.listAll(prefix)) names.push(object.name);
  return names;
}

/** Writes `parts` one per writer session: close after each but the last, which commits (append resumes). */
export async function writeInSessions(driver: SwiftDriver, path: string, parts: Buffer[]): Promise<void> {
  for (let i = 0; i < parts.length; i++) {
    const writer: FileWriter = await driver.writer(path, i > 0);
    await writer.write(parts[i]!);
    if (i === parts.length - 1) await writer.commit();
    else await writer.close();
  }
}

/** Runs `fn` with the process's time zone set to `zone` (Node re-reads TZ when it is assigned). */
export async function inTimeZone<T>(zone: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.TZ;
  process.env.TZ = zone;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}
