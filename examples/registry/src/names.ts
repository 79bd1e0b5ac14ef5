/**
 * What a request may name, checked before storage is touched: repository names, tags, digests and
 * upload ids, each by the spec's (or distribution's) regular expression. Anything that passes is
 * also a valid Stowage path component sequence, so no name can reach outside its repository.
 */
import { RegistryError } from './errors';

/** distribution-spec v1.1 `<name>`: path components of lowercase alphanumerics and separators. */
const NAME_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** distribution's limit on a repository name (the spec says fewer than 256 characters with the host). */
const MAX_NAME_LENGTH = 255;
/** distribution-spec v1.1 `<reference>` as a tag. */
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** The only digest algorithm this registry computes and serves. */
const SHA256_DIGEST_PATTERN = /^sha256:([a-f0-9]{64})$/;
/** The digest grammar of image-spec, to tell "not a digest" from "a digest we do not support". */
const ANY_DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Upload ids are the UUIDs this registry hands out (as distribution does). */
const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A parsed sha256 digest. */
export interface Digest {
  /** `sha256:<hex>` */
  readonly value: string;
  readonly algorithm: 'sha256';
  readonly hex: string;
}

function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

/** Throws NAME_INVALID unless `name` is a valid repository name. */
export function checkName(name: string): string {
  if (!isValidName(name)) throw new RegistryError(400, 'NAME_INVALID', 'invalid repository name', { name: name.slice(0, 300) });
  return name;
}

function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** The digest in `value`, or undefined when it is not a sha256 digest. */
export function parseDigest(value: string): Digest | undefined {
  const hex = SHA256_DIGEST_PATTERN.exec(value)?.[1];
  return hex === undefined ? undefined : { value, algorithm: 'sha256', hex };
}

/** Throws DIGEST_INVALID (or UNSUPPORTED for another algorithm) unless `value` is a sha256 digest. */
export function checkDigest(value: string | null | undefined): Digest {
  const digest = value == null ? undefined : parseDigest(value);
  if (digest) return digest;
  if (value != null && ANY_DIGEST_PATTERN.test(value) && !value.startsWith('sha256:'))
    throw new RegistryError(400, 'UNSUPPORTED', 'only sha256 digests are supported', { digest: value.slice(0, 200) });
  throw new RegistryError(400, 'DIGEST_INVALID', 'invalid digest', { digest: value?.slice(0, 200) ?? null });
}

export function digestOf(hex: string): Digest {
  return { value: `sha256:${hex}`, algorithm: 'sha256', hex };
}

export function isValidUploadId(id: string): boolean {
  return UPLOAD_ID_PATTERN.test(id);
}

/** A manifest reference: a tag or a digest. */
export type Reference = { tag: string; digest?: undefined } | { digest: Digest; tag?: undefined };

/** Parses a manifest `<reference>`; a malformed one is MANIFEST_INVALID / DIGEST_INVALID (400). */
export function checkReference(value: string): Reference {
  if (value.includes(':')) return { digest: checkDigest(value) };
  if (!isValidTag(value)) throw new RegistryError(400, 'MANIFEST_INVALID', 'invalid tag', { tag: value.slice(0, 200) });
  return { tag: value };
}
