/**
 * OSS signature V1 (HMAC-SHA1), for the Authorization header (`OSS AccessKeyId:Signature`) and for signed
 * URLs (OSSAccessKeyId/Expires/Signature):
 *
 *   Signature = base64(hmac-sha1(AccessKeySecret,
 *     VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource))
 *
 * Date is the Date header (falling back to x-oss-date, which is what ali-oss sends), or Expires for a URL.
 * CanonicalizedOSSHeaders: every x-oss-* header, lowercased, sorted, `name:trimmed-value\n`.
 * CanonicalizedResource: `/bucket/key` with the key decoded (`/bucket/` for a bucket, `/` for the service),
 * then `?` and the signed sub-resources, sorted, `name` or `name=value` (decoded), joined by `&`.
 */
import { createHmac } from 'node:crypto';
import type { QueryParam } from './encoding';

/**
 * Query parameters that are part of the signed resource. Every other parameter (prefix, marker, max-keys,
 * list-type, encoding-type...) is left out of the V1 signature, as in OSS's documentation and SDKs.
 */
export const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl',
  'append',
  'asyncFetch',
  'bucketInfo',
  'callback',
  'callback-var',
  'cloudboxes',
  'comp',
  'continuation-token',
  'cors',
  'delete',
  'encryption',
  'endTime',
  'img',
  'inventory',
  'inventoryId',
  'lifecycle',
  'live',
  'location',
  'logging',
  'objectMeta',
  'partNumber',
  'policy',
  'position',
  'qos',
  'referer',
  'regionList',
  'replication',
  'replicationLocation',
  'replicationProgress',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'security-token',
  'sequential',
  'startTime',
  'stat',
  'status',
  'style',
  'styleName',
  'symlink',
  'tagging',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'vod',
  'website',
  'worm',
  'wormExtend',
  'wormId',
]);

function isSignedSubresource(name: string): boolean {
  return SIGNED_SUBRESOURCES.has(name) || name.startsWith('x-oss-');
}

/** `/bucket/key?sub=resources` as V1 signs it. */
function canonicalizedResource(bucket: string | undefined, key: string | undefined, query: QueryParam[]): string {
  let resource = bucket ? `/${bucket}/${key ?? ''}` : '/';
  const signed = query.filter((param) => isSignedSubresource(param.key));
  signed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (signed.length > 0) {
    resource += `?${signed.map((param) => (param.value === '' ? param.key : `${param.key}=${param.value}`)).join('&')}`;
  }
  return resource;
}

/** `name:value\n` for every x-oss-* header, sorted by name. */
function canonicalizedOssHeaders(headers: Record<string, string | string[] | undefined>): string {
  const names = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter((name) => name.startsWith('x-oss-'))
    .sort();
  return names.map((name) => `${name}:${headerValue(headers, name).trim()}\n`).join('');
}

export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

export interface V1StringToSignInput {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** The Date header, x-oss-date, or a signed URL's Expires. */
  date: string;
  bucket?: string;
  key?: string;
  query: QueryParam[];
}

export function stringToSignV1(input: V1StringToSignInput): string {
  return [
    input.method.toUpperCase(),
    headerValue(input.headers, 'content-md5'),
    headerValue(input.headers, 'content-type'),
    input.date,
    canonicalizedOssHeaders(input.headers) + canonicalizedResource(input.bucket, input.key, input.query),
  ].join('\n');
}

export function signV1(accessKeySecret: string, stringToSign: string): string {
  return createHmac('sha1', accessKeySecret).update(stringToSign, 'utf8').digest('base64');
}

/** Splits `OSS AccessKeyId:Signature`; undefined when the header is not in that form. */
export function parseV1Authorization(header: string): { accessKeyId: string; signature: string } | undefined {
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(header.trim());
  return match ? { accessKeyId: match[1]!, signature: match[2]! } : undefined;
}
