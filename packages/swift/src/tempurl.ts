/**
 * Swift TempURLs signed with HMAC-SHA256: `temp_url_sig` is the hex HMAC of
 * `METHOD\nEXPIRES\nPATH` under the account's (or container's) Temp-URL-Key, where PATH is the
 * object's path from `/v1/` on, unescaped, as the tempurl middleware sees it.
 */
import { createHmac } from 'node:crypto';
import { escapeName } from './http/client';

export interface TempUrlInput {
  storageUrl: string;
  container: string;
  object: string;
  method: string;
  /** Unix seconds. */
  expires: number;
  key: string;
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
  let signature = createHmac('sha256', input.key).update(`${input.method}\n${input.expires}\n${signedPath}`).digest('hex');
  if (input.accessKey) signature = `${input.tenantId ?? ''}:${input.accessKey}:${signature}`;
  const base = input.storageUrl.replace(/\/+$/, '');
  return `${base}/${encodeURIComponent(input.container)}/${escapeName(input.object)}?temp_url_sig=${encodeURIComponent(signature)}&temp_url_expires=${input.expires}`;
}
