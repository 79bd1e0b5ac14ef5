/**
 * Manifests in distribution's layout: the bytes are a blob, a repository has a manifest when its
 * revision link exists, and a tag is a `current` link plus an `index` of every digest it has had.
 * Everything about a manifest is checked before the first write.
 */
import { createHash } from 'node:crypto';
import { isPathNotFound, type StorageDriver } from '@stowage/core';
import type { BlobStore } from './blobs';
import { digestInvalid, manifestUnknown, nameUnknown, RegistryError } from './errors';
import { blobDataPath, LINK, manifestRevisionDir, manifestRevisionsDir, repositoryPath, tagCurrentLinkPath, tagDir, tagIndexLinkPath, tagsDir } from './layout';
import { deleteIfPresent, listIfPresent, readLink, sizeOf, writeLink } from './links';
import { type Descriptor, type ManifestInfo, parseManifest, storedMediaType } from './manifest';
import { type Digest, digestOf, parseDigest, type Reference } from './names';

/** A manifest as stored: its digest, bytes and the media type to serve it with. */
export interface StoredManifest {
  digest: Digest;
  bytes: Buffer;
  mediaType: string;
}

/** How many manifests' referrer facts are remembered (manifest bytes never change under a digest). */
const REFERRER_CACHE_ENTRIES = 10_000;

export class ManifestStore {
  private readonly referrerFacts = new Map<string, Descriptor & { subject?: string }>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
  ) {}

  /** The digest a reference names in repository `name`, or MANIFEST_UNKNOWN. */
  async resolve(name: string, reference: Reference): Promise<Digest> {
    if (reference.tag !== undefined) {
      const digest = await readLink(this.driver, tagCurrentLinkPath(name, reference.tag));
      if (!digest) throw manifestUnknown(reference.tag);
      return digest;
    }
    if (!(await this.has(name, reference.digest))) throw manifestUnknown(reference.digest.value);
    return reference.digest;
  }

  async has(name: string, digest: Digest): Promise<boolean> {
    return (await readLink(this.driver, `${manifestRevisionDir(name, digest)}/${LINK}`))?.value === digest.value;
  }

  async get(name: string, reference: Reference): Promise<StoredManifest> {
    const digest = await this.resolve(name, reference);
    let bytes: Buffer;
    try {
      bytes = await this.driver.getContent(blobDataPath(digest));
    } catch (err) {
      if (isPathNotFound(err)) throw manifestUnknown(digest.value);
      throw err;
    }
    return { digest, bytes, mediaType: storedMediaType(bytes) };
  }

  /** Checks and stores a manifest under a tag or its digest; returns its digest and what it is. */
  async put(name: string, reference: Reference, bytes: Buffer, contentType: string | undefined): Promise<{ digest: Digest; info: ManifestInfo }> {
    const digest = digestOf(createHash('sha256').update(bytes).digest('hex'));
    if (reference.digest && reference.digest.value !== digest.value) {
      throw digestInvalid('the manifest does not match the digest in the URL', { digest: reference.digest.value, actual: digest.value });
    }
    const info = parseManifest(bytes, contentType);
    for (const blob of info.blobs) {
      if ((await this.blobs.sizeIn(name, blob)) === undefined) throw blobMissing(blob);
    }
    for (const child of info.manifests) {
      if (!(await this.has(name, child))) throw blobMissing(child);
    }
    if ((await sizeOf(this.driver, blobDataPath(digest))) !== bytes.length) await this.driver.putContent(blobDataPath(digest), bytes);
    await writeLink(this.driver, `${manifestRevisionDir(name, digest)}/${LINK}`, digest);
    if (reference.tag !== undefined) {
      await writeLink(this.driver, tagIndexLinkPath(name, reference.tag, digest), digest);
      await writeLink(this.driver, tagCurrentLinkPath(name, reference.tag), digest);
    }
    return { digest, info };
  }

  /** Deletes a tag, or a manifest and every tag that points at it. */
  async delete(name: string, reference: Reference): Promise<void> {
    if (reference.tag !== undefined) {
      await this.resolve(name, reference);
      await deleteIfPresent(this.driver, tagDir(name, reference.tag));
      return;
    }
    const digest = await this.resolve(name, reference);
    for (const tag of await this.tags(name)) {
      if ((await readLink(this.driver, tagCurrentLinkPath(name, tag)))?.value === digest.value) await deleteIfPresent(this.driver, tagDir(name, tag));
    }
    await deleteIfPresent(this.driver, manifestRevisionDir(name, digest));
  }

  /** The repository's tags in lexical order; NAME_UNKNOWN when the repository does not exist. */
  async tags(name: string): Promise<string[]> {
    try {
      await this.driver.list(repositoryPath(name));
    } catch (err) {
      if (isPathNotFound(err)) throw nameUnknown(name);
      throw err;
    }
    return (await listIfPresent(this.driver, tagsDir(name))).map(lastComponent).sort();
  }

  /** Descriptors of the repository's manifests whose `subject` is `subject`, by digest. */
  async referrers(name: string, subject: Digest): Promise<Descriptor[]> {
    const found: Descriptor[] = [];
    for (const path of await listIfPresent(this.driver, manifestRevisionsDir(name))) {
      const revision = parseDigest(`sha256:${lastComponent(path)}`);
      const facts = revision && (await this.referrerFactsOf(revision));
      if (facts?.subject === subject.value) {
        const { subject: _ignored, ...descriptor } = facts;
        found.push(descriptor);
      }
    }
    return found.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }

  /** The descriptor a referrers response lists for a manifest, and its subject; cached by digest. */
  private async referrerFactsOf(digest: Digest): Promise<(Descriptor & { subject?: string }) | undefined> {
    const cached = this.referrerFacts.get(digest.value);
    if (cached) return cached;
    let bytes: Buffer;
    let info: ManifestInfo;
    try {
      bytes = await this.driver.getContent(blobDataPath(digest));
      info = parseManifest(bytes);
    } catch (err) {
      if (isPathNotFound(err) || err instanceof RegistryError) return undefined; // a dangling or foreign revision
      throw err;
    }
    // image-spec: an image manifest without artifactType is described by its config's media type.
    const artifactType = info.artifactType ?? (info.kind === 'image' ? info.configMediaType : undefined);
    const facts: Descriptor & { subject?: string } = {
      mediaType: info.mediaType,
      digest: digest.value,
      size: bytes.length,
      ...(artifactType ? { artifactType } : {}),
      ...(info.annotations ? { annotations: info.annotations } : {}),
      ...(info.subject ? { subject: info.subject.digest } : {}),
    };
    if (this.referrerFacts.size >= REFERRER_CACHE_ENTRIES) this.referrerFacts.delete(this.referrerFacts.keys().next().value!);
    this.referrerFacts.set(digest.value, facts);
    return facts;
  }
}

function lastComponent(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function blobMissing(digest: Digest): RegistryError {
  return new RegistryError(400, 'MANIFEST_BLOB_UNKNOWN', 'manifest references a manifest or blob unknown to registry', { digest: digest.value });
}
