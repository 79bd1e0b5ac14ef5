/**
 * OSS signature V4 (OSS4-HMAC-SHA256), for the Authorization header and for signed URLs.
 *
 * CanonicalRequest = VERB \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
 *                    AdditionalHeaders \n HashedPayload
 *   CanonicalURI: uri-encode(`/bucket/key`) keeping '/', or `/bucket/`, or `/`.
 *   CanonicalQueryString: every parameter (a URL's x-oss-signature excepted), key and value uri-encoded,
 *     sorted, `k=v`, or just `k` when the value is empty.
 *   CanonicalHeaders: content-type, content-md5, every x-oss-* header and the AdditionalHeaders, lowercased,
 *     sorted, `name:trimmed-value\n`.
 *   HashedPayload: the x-oss-content-sha256 header, else UNSIGNED-PAYLOAD.
 * StringToSign = "OSS4-HMAC-SHA256" \n x-oss-date \n `yyyymmdd/region/oss/aliyun_v4_request` \n hex(sha256(CanonicalRequest))
 * SigningKey = HMAC chain over "aliyun_v4"+secret: date, region, "oss", "aliyun_v4_request".
 * Signature = hex(hmac-sha256(SigningKey, StringToSign)).
 */
import { createHash, createHmac } from 'node:crypto';
import { headerValue } from './auth-v1';
import { uriEncode, type QueryParam } from './encoding';

export const V4_ALGORITHM = 'OSS4-HMAC-SHA256';
export const V4_TERMINATOR = 'aliyun_v4_request';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

function canonicalUri(bucket: string | undefined, key: string | undefined): string {
  return uriEncode(bucket ? `/${bucket}/${key ?? ''}` : '/', true);
}

function canonicalQueryString(query: QueryParam[], omit?: string): string {
  const encoded = query.filter((param) => param.key !== omit).map((param) => ({ key: uriEncode(param.key), value: uriEncode(param.value) }));
  encoded.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return encoded.map((param) => (param.value === '' ? param.key : `${param.key}=${param.value}`)).join('&');
}

function isDefaultSignedHeader(name: string): boolean {
  return name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-');
}

function canonicalHeaders(headers: Record<string, string | string[] | undefined>, additionalHeaders: string[]): string {
  const names = new Set<string>();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (isDefaultSignedHeader(lower)) names.add(lower);
  }
  for (const name of additionalHeaders) names.add(name);
  return [...names]
    .sort()
    .map((name) => `${name}:${headerValue(headers, name).trim()}\n`)
    .join('');
}

export interface V4CanonicalRequestInput {
  method: string;
  bucket?: string;
  key?: string;
  query: QueryParam[];
  /** A signed URL's x-oss-signature is not part of what it signs. */
  omitQueryParam?: string;
  headers: Record<string, string | string[] | undefined>;
  additionalHeaders: string[];
}

export function canonicalRequestV4(input: V4CanonicalRequestInput): string {
  const payloadHash = headerValue(input.headers, 'x-oss-content-sha256') || UNSIGNED_PAYLOAD;
  return [
    input.method.toUpperCase(),
    canonicalUri(input.bucket, input.key),
    canonicalQueryString(input.query, input.omitQueryParam),
    canonicalHeaders(input.headers, input.additionalHeaders),
    input.additionalHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

export function scopeV4(date: string, region: string, product = 'oss'): string {
  return `${date}/${region}/${product}/${V4_TERMINATOR}`;
}

export function stringToSignV4(datetime: string, scope: string, canonicalRequest: string): string {
  return [V4_ALGORITHM, datetime, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
}

export function signingKeyV4(accessKeySecret: string, date: string, region: string, product = 'oss'): Buffer {
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
  return hmac(hmac(hmac(hmac(`aliyun_v4${accessKeySecret}`, date), region), product), V4_TERMINATOR);
}

export function signV4(signingKey: Buffer, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

export interface V4Credential {
  accessKeyId: string;
  date: string;
  region: string;
  product: string;
  terminator: string;
}

/** `AccessKeyId/yyyymmdd/region/product/aliyun_v4_request`; undefined when it has not five parts. */
export function parseCredential(credential: string): V4Credential | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts.some((part) => part === '')) return undefined;
  const [accessKeyId, date, region, product, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, date, region, product, terminator };
}

export interface V4Authorization {
  credential: string;
  additionalHeaders: string[];
  signature: string;
}

/**
 * Parses `OSS4-HMAC-SHA256 Credential=...,AdditionalHeaders=a;b,Signature=...` (spaces after the commas
 * allowed); undefined when a required field is missing or AdditionalHeaders is present but empty.
 */
export function parseV4Authorization(header: string): V4Authorization | undefined {
  const trimmed = header.trim();
  if (!trimmed.startsWith(`${V4_ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const piece of trimmed.slice(V4_ALGORITHM.length + 1).split(',')) {
    const eq = piece.indexOf('=');
    if (eq < 0) return undefined;
    fields.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signature = fields.get('Signature');
  if (!credential || !signature) return undefined;
  const additional = fields.get('AdditionalHeaders');
  if (additional !== undefined && (additional === '' || additional.split(';').some((name) => name === ''))) return undefined;
  return { credential, signature, additionalHeaders: additional === undefined ? [] : additional.split(';') };
}

/** ISO 8601 basic (yyyymmddThhmmssZ) to a Date; undefined when malformed. */
export function parseIsoBasic(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const date = new Date(Date.UTC(y!, mo! - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}
