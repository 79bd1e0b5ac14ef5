/**
 * Swift TempURLs: `temp_url_sig` is the hex HMAC of `METHOD\nEXPIRES\nPATH` under the account's
 * (or container's) Temp-URL-Key, where PATH is the object's path from `/v1/` on, unescaped, as the
 * tempurl middleware sees it. The digest is SHA-256 unless the cluster says otherwise (see
 * tempUrlDigest); the signature's length tells the server which one it is.
 */
import { createHmac } from 'node:crypto';
import { escapeName } from './http/client';

export type TempUrlDigest = 'sha1' | 'sha256' | 'sha512';

/**
 * The digest to sign with, from /info's `tempurl` section: SHA-256 when `allowed_digests` lists it
 * (else SHA-512, else SHA-1). A `tempurl` section without `allowed_digests` means SHA-1 only, as
 * Swift's tempurl documentation says of older clusters; Ceph RGW 16 answers that way, and its
 * TempURLs are HMAC-SHA1 only. Without a `tempurl` section (/info hidden) SHA-256, which Swift
 * accepts by default.
 */
export function tempUrlDigest(tempurl: { allowed_digests?: string[] } | undefined): TempUrlDigest {
  if (!tempurl) return 'sha256';
  const allowed = tempurl.allowed_digests;
  if (!Array.isArray(allowed)) return 'sha1';
  for (const digest of ['sha256', 'sha512', 'sha1'] as const) if (allowed.includes(digest)) return digest;
  return 'sha256';
}

export interface TempUrlInput {
  storageUrl: string;
  container: string;
  object: string;
  method: string;
  /** Unix seconds. */
  expires: number;
  key: string;
  /** The HMAC's digest (default sha256). */
  digest?: TempUrlDigest;
  /** HP Cloud style: the signature becomes `<tenantId>:<accessKey>:<hex>`. */
  accessKey?: string;
  tenantId?: string;
}

export function tempUrl(input: TempUrlInput): string {
  const url = new URL(input.storageUrl);
  const accountPath = decodeURIComponent(url.pathname).replace(/\/+$/, '');
  // Behind a path prefix (https://host/swift/v1/AUTH_x) Swift itself only sees /v1/...
  const versionAt = accountPath.search(/\/v1(\.0)?\//);
  const signedAccountPath = versionAt >= 0 ? accountPath.slice(versionAt) : accountPath;
  const signedPath = `${signedAccountPath}/${input.container}/${input.object}`;
  let signature = createHmac(input.digest ?? 'sha256', input.key)
    .update(`${input.method}\n${input.expires}\n${signedPath}`)
    .digest('hex');
  if (input.accessKey) signature = `${input.tenantId ?? ''}:${input.accessKey}:${signature}`;
  const base = input.storageUrl.replace(/\/+$/, '');
  return `${base}/${encodeURIComponent(input.container)}/${escapeName(input.object)}?temp_url_sig=${encodeURIComponent(signature)}&temp_url_expires=${input.expires}`;
}
