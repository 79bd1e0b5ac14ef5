/**
 * Blobs as a repository sees them: a blob belongs to repository R when R's `_layers` link for its
 * digest exists and the shared data file is there, exactly as distribution checks.
 */
import type { Readable } from 'node:stream';
import type { StorageDriver } from '@stowage/core';
import { blobUnknown } from './errors';
import { blobDataPath, layerLinkDir, LINK } from './layout';
import { deleteIfPresent, readLink, sizeOf, writeLink } from './links';
import type { Digest } from './names';

export class BlobStore {
  constructor(private readonly driver: StorageDriver) {}

  /** The blob's size if repository `name` has it, else undefined. */
  async sizeIn(name: string, digest: Digest): Promise<number | undefined> {
    const linked = await readLink(this.driver, `${layerLinkDir(name, digest)}/${LINK}`);
    if (linked?.value !== digest.value) return undefined;
    return sizeOf(this.driver, blobDataPath(digest));
  }

  /** The blob's size, or BLOB_UNKNOWN (404). */
  async stat(name: string, digest: Digest): Promise<number> {
    const size = await this.sizeIn(name, digest);
    if (size === undefined) throw blobUnknown(digest.value);
    return size;
  }

  /** Links an existing blob into repository `name`. */
  link(name: string, digest: Digest): Promise<void> {
    return writeLink(this.driver, `${layerLinkDir(name, digest)}/${LINK}`, digest);
  }

  /** Removes the blob from repository `name` (its data stays for other repositories, as in distribution). */
  async unlink(name: string, digest: Digest): Promise<void> {
    await this.stat(name, digest);
    await deleteIfPresent(this.driver, layerLinkDir(name, digest));
  }

  open(digest: Digest, offset: number): Promise<Readable> {
    return this.driver.reader(blobDataPath(digest), offset);
  }

  /** A URL the client may fetch the blob from directly, when the driver has one. */
  redirectURL(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | null> {
    return this.driver.redirectURL(blobDataPath(digest), { method });
  }
}
