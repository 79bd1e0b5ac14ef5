/** Reading and writing distribution's link files, and the small storage questions around them. */
import { isPathNotFound, type StorageDriver } from '@stowage/core';
import { type Digest, parseDigest } from './names';

/** The digest a link file holds, or undefined when there is no link (or it holds no sha256 digest). */
export async function readLink(driver: StorageDriver, path: string): Promise<Digest | undefined> {
  try {
    return parseDigest((await driver.getContent(path)).toString('utf8').trim());
  } catch (err) {
    if (isPathNotFound(err)) return undefined;
    throw err;
  }
}

export function writeLink(driver: StorageDriver, path: string, digest: Digest): Promise<void> {
  return driver.putContent(path, Buffer.from(digest.value));
}

/** The size of the file at `path`, or undefined when nothing is committed there. */
export async function sizeOf(driver: StorageDriver, path: string): Promise<number | undefined> {
  try {
    const info = await driver.stat(path);
    return info.isDir ? undefined : info.size;
  } catch (err) {
    if (isPathNotFound(err)) return undefined;
    throw err;
  }
}

/** Deletes `path` and everything below it; a missing path is already deleted. */
export async function deleteIfPresent(driver: StorageDriver, path: string): Promise<void> {
  try {
    await driver.delete(path);
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }
}

/** The full paths below a directory, or none when it does not exist. */
export async function listIfPresent(driver: StorageDriver, path: string): Promise<string[]> {
  try {
    return await driver.list(path);
  } catch (err) {
    if (isPathNotFound(err)) return [];
    throw err;
  }
}
