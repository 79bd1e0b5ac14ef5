/** Pieces the handlers share: bucket/key validation, metadata, bodies, conditional headers, streaming. */
import { GiB, KiB } from '@stowage/core';
import type { ServerResponse } from 'node:http';
import { OssError, invalidBucketName, invalidObjectName, noSuchBucket } from '../errors';
import { BodyTooLarge, readBody, type ReceivedBody, type RequestContext } from '../request';
import type { Bucket, ObjectMetadata, Store, StoredObject } from '../store';
import { uriEncode } from '../encoding';

export const MAX_OBJECT_SIZE = 5 * GiB;
export const MAX_PART_SIZE = 5 * GiB;
/** Every part but the last must be at least this big, checked when the upload is completed. */
export const MIN_PART_SIZE = 100 * KiB;
export const MAX_PART_NUMBER = 10000;
/** User metadata (x-oss-meta-*) may total at most 8 KiB. */
const MAX_USER_META = 8 * KiB;
/** XML request bodies (Delete, CompleteMultipartUpload...) are small. */
const MAX_XML_BODY = 4 * 1024 * KiB;

const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];

/** What the handlers need besides the request: the store and the server clock. */
export interface HandlerEnv {
  store: Store;
  now: () => Date;
  /** Region as ali-oss names it, e.g. oss-cn-hangzhou. */
  location: string;
}

function isValidBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name);
}

export function requireBucketName(ctx: RequestContext): string {
  const name = ctx.bucketName;
  if (name === undefined || !isValidBucketName(name)) throw invalidBucketName(name ?? '');
  return name;
}

export function requireBucket(ctx: RequestContext, env: HandlerEnv): Bucket {
  const name = requireBucketName(ctx);
  const bucket = env.store.buckets.get(name);
  if (!bucket) throw noSuchBucket(name);
  return bucket;
}

/** OSS's object name rules: 1-1023 bytes of UTF-8, not starting with '/' or '\'. */
export function validateKey(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes === 0) throw invalidObjectName('The Object name can not be empty.');
  if (bytes > 1023) throw invalidObjectName('The Length of Object name must be less than 1024.');
  if (key.startsWith('/') || key.startsWith('\\')) throw invalidObjectName('The specified object is not valid.');
}

export function requireKey(ctx: RequestContext): string {
  const key = ctx.key ?? '';
  validateKey(key);
  return key;
}

/** Content-Type, the stored standard headers and x-oss-meta-* taken from a request. */
export function metadataFromRequest(ctx: RequestContext): ObjectMetadata {
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = ctx.header(name);
    if (value !== undefined) headers[name] = value;
  }
  const meta: Record<string, string> = {};
  let metaBytes = 0;
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (!name.startsWith('x-oss-meta-') || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    meta[name] = text;
    metaBytes += name.length - 'x-oss-meta-'.length + text.length;
  }
  if (metaBytes > MAX_USER_META) {
    throw new OssError(400, 'InvalidArgument', `Your metadata headers exceed the maximum allowed metadata size of ${MAX_USER_META} bytes.`);
  }
  return { contentType: ctx.header('content-type') || 'application/octet-stream', headers, meta };
}

/** `"ETAG"` as OSS quotes it. */
export function quoted(etag: string): string {
  return `"${etag}"`;
}

/** Compares ETags the way a client may send them back: quotes optional, case-insensitive. */
export function sameEtag(a: string, b: string): boolean {
  const strip = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toUpperCase();
  return strip(a) === strip(b);
}

/** Headers describing a stored object (HEAD/GET). */
export function objectHeaders(object: StoredObject): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'Content-Type': object.contentType,
    ETag: quoted(object.etag),
    'Last-Modified': object.lastModified.toUTCString(),
    'Accept-Ranges': 'bytes',
    'x-oss-object-type': object.type,
    'x-oss-storage-class': 'Standard',
  };
  for (const [name, value] of Object.entries(object.headers)) headers[name] = value;
  for (const [name, value] of Object.entries(object.meta)) headers[name] = value;
  if (object.type === 'Appendable') headers['x-oss-next-append-position'] = object.size;
  return headers;
}

/** Reads a request body bounded by `limit`, failing with `tooLarge` past it. */
export async function receiveBody(ctx: RequestContext, limit: number, tooLarge: () => OssError): Promise<ReceivedBody> {
  const declared = ctx.header('content-length');
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  try {
    return await readBody(ctx.req, limit);
  } catch (err) {
    if (err instanceof BodyTooLarge) throw tooLarge();
    throw err;
  }
}

export const entityTooLarge = (limit: number) =>
  new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.', [['MaxSizeAllowed', limit]]);

/** Content-MD5, when sent, must be the base64 MD5 of the body. */
export function checkContentMd5(ctx: RequestContext, md5: Buffer): void {
  const sent = ctx.header('content-md5');
  if (sent === undefined) return;
  const decoded = Buffer.from(sent, 'base64');
  if (decoded.length !== 16 || decoded.toString('base64') !== sent.trim()) {
    throw new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.', [['Content-MD5', sent]]);
  }
  if (!decoded.equals(md5)) {
    throw new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified did not match what we received.', [
      ['Content-MD5', sent],
      ['CalculatedMD5', md5.toString('base64')],
    ]);
  }
}

export async function readXmlBody(ctx: RequestContext): Promise<{ text: string; md5: Buffer }> {
  const body = await receiveBody(ctx, MAX_XML_BODY, () => entityTooLarge(MAX_XML_BODY));
  checkContentMd5(ctx, body.md5);
  return { text: Buffer.concat(body.chunks, body.size).toString('utf8'), md5: body.md5 };
}

export function isUrlEncoding(ctx: RequestContext): boolean {
  const type = ctx.param('encoding-type');
  if (type !== undefined && type !== 'url') {
    throw new OssError(400, 'InvalidArgument', 'The encoding-type must be url.', [
      ['ArgumentName', 'encoding-type'],
      ['ArgumentValue', type],
    ]);
  }
  return type === 'url';
}

/** Encodes a key/prefix for a response when encoding-type=url was asked for. */
export function encodeIf(url: boolean, text: string): string {
  return url ? uriEncode(text) : text;
}

/**
 * If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since (or their x-oss-copy-source-*
 * forms with `prefix`): returns 304 or 412 when the condition fails, undefined when it holds.
 */
export function failedCondition(ctx: RequestContext, object: StoredObject, prefix = ''): 304 | 412 | undefined {
  const ifMatch = ctx.header(`${prefix}if-match`);
  const ifNoneMatch = ctx.header(`${prefix}if-none-match`);
  const ifModifiedSince = ctx.header(`${prefix}if-modified-since`);
  const ifUnmodifiedSince = ctx.header(`${prefix}if-unmodified-since`);
  const modified = object.lastModified.getTime();
  if (ifMatch !== undefined && !ifMatch.split(',').some((tag) => tag.trim() === '*' || sameEtag(tag, object.etag))) return 412;
  if (ifUnmodifiedSince !== undefined && ifMatch === undefined) {
    const since = Date.parse(ifUnmodifiedSince);
    if (!Number.isNaN(since) && modified > since) return 412;
  }
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || sameEtag(tag, object.etag))) return 304;
  if (ifModifiedSince !== undefined && ifNoneMatch === undefined) {
    const since = Date.parse(ifModifiedSince);
    if (!Number.isNaN(since) && modified <= since) return 304;
  }
  return undefined;
}

export const preconditionFailed = (condition: string) =>
  new OssError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.', [['Condition', condition]]);

/** Writes Buffers to the response, waiting for drain; stops if the client goes away. */
export async function writeChunks(res: ServerResponse, chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
}

/** An x-oss-copy-source value: `/bucket/url-encoded-key`, optionally `?versionId=`. */
export function parseCopySource(ctx: RequestContext): { bucket: string; key: string } {
  const raw = ctx.header('x-oss-copy-source') ?? '';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  if (q >= 0) throw new OssError(501, 'NotImplemented', 'Versioned copy sources are not implemented by this local OSS server.');
  const match = /^\/?([^/]+)\/(.+)$/.exec(path);
  if (!match) {
    throw new OssError(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.', [
      ['ArgumentName', 'x-oss-copy-source'],
      ['ArgumentValue', raw],
    ]);
  }
  let key: string;
  try {
    key = decodeURIComponent(match[2]!);
  } catch {
    key = match[2]!;
  }
  return { bucket: match[1]!, key };
}
