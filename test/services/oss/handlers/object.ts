/** PutObject, GetObject (with OSS's Range rules), HeadObject, GetObjectMeta, DeleteObject, CopyObject, AppendObject. */
import { createHash } from 'node:crypto';
import { OssError, invalidArgument, noSuchBucket, noSuchKey } from '../errors';
import type { RequestContext } from '../request';
import { sliceChunks, wholeSeconds, type ObjectMetadata, type StoredObject } from '../store';
import {
  MAX_OBJECT_SIZE,
  checkContentMd5,
  entityTooLarge,
  failedCondition,
  metadataFromRequest,
  objectHeaders,
  parseCopySource,
  preconditionFailed,
  quoted,
  receiveBody,
  requireBucket,
  requireKey,
  writeChunks,
  type HandlerEnv,
} from './common';

const fileAlreadyExists = () => new OssError(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.');

function forbidsOverwrite(ctx: RequestContext): boolean {
  return (ctx.header('x-oss-forbid-overwrite') ?? '').toLowerCase() === 'true';
}

export async function putObject(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const metadata = metadataFromRequest(ctx);
  if (forbidsOverwrite(ctx) && bucket.get(key)) throw fileAlreadyExists();
  const body = await receiveBody(ctx, MAX_OBJECT_SIZE, () => entityTooLarge(MAX_OBJECT_SIZE));
  checkContentMd5(ctx, body.md5);
  if (forbidsOverwrite(ctx) && bucket.get(key)) throw fileAlreadyExists();
  const etag = body.md5.toString('hex').toUpperCase();
  bucket.put({
    key,
    chunks: body.chunks,
    size: body.size,
    etag,
    lastModified: wholeSeconds(env.now()),
    type: 'Normal',
    ...metadata,
  });
  ctx.send(200, { ETag: quoted(etag), 'Content-MD5': body.md5.toString('base64') });
}

type RangeDecision = { kind: 'whole' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * OSS's Range rules. By default a range that is malformed or not inside the object is ignored: 200 with the
 * whole object. With `x-oss-range-behavior: standard`, an end past the object is clamped and a start past
 * it is 416 InvalidRange. Only the first of several ranges is served.
 */
export function decideRange(header: string | undefined, size: number, standard: boolean): RangeDecision {
  if (header === undefined) return { kind: 'whole' };
  const match = /^bytes=(\d*)-(\d*)\s*(,.*)?$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'whole' };
  const [, first, last] = match;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return standard ? { kind: 'unsatisfiable' } : { kind: 'whole' };
    if (suffix > size) return standard && size > 0 ? { kind: 'partial', start: 0, end: size - 1 } : { kind: 'whole' };
    return { kind: 'partial', start: size - suffix, end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return standard ? { kind: 'unsatisfiable' } : { kind: 'whole' };
  if (last === '') return { kind: 'partial', start, end: size - 1 };
  const end = Number(last);
  if (end < start) return { kind: 'whole' };
  if (end >= size) return standard ? { kind: 'partial', start, end: size - 1 } : { kind: 'whole' };
  return { kind: 'partial', start, end };
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

function findObject(ctx: RequestContext, env: HandlerEnv): StoredObject {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const object = bucket.get(key);
  if (!object) throw noSuchKey(key);
  return object;
}

/** GetObject and HeadObject (HEAD ignores Range, as OSS's HeadObject does). */
export async function getObject(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const object = findObject(ctx, env);
  const headers = objectHeaders(object);
  const condition = failedCondition(ctx, object);
  if (condition === 412) throw preconditionFailed('If-Match/If-Unmodified-Since');
  if (condition === 304) {
    ctx.send(304, { ETag: headers.ETag!, 'Last-Modified': headers['Last-Modified']! });
    return;
  }
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = ctx.param(param);
    if (value !== undefined) headers[header] = value;
  }
  if (ctx.method === 'HEAD') {
    ctx.send(200, { ...headers, 'Content-Length': object.size });
    return;
  }
  const standard = (ctx.header('x-oss-range-behavior') ?? '').toLowerCase() === 'standard';
  const range = decideRange(ctx.header('range'), object.size, standard);
  // The object may be replaced while it streams; the chunk list taken here stays valid (Buffers are immutable).
  const chunks = object.chunks;
  if (range.kind === 'unsatisfiable') {
    throw new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied.', [['RangeRequested', ctx.header('range') ?? '']], {
      'Content-Range': `bytes */${object.size}`,
    });
  }
  if (range.kind === 'partial') {
    ctx.begin(206, {
      ...headers,
      'Content-Length': range.end - range.start + 1,
      'Content-Range': `bytes ${range.start}-${range.end}/${object.size}`,
    });
    await writeChunks(ctx.res, sliceChunks(chunks, range.start, range.end + 1));
    return;
  }
  ctx.begin(200, { ...headers, 'Content-Length': object.size });
  await writeChunks(ctx.res, sliceChunks(chunks, 0, object.size));
}

/** HEAD ?objectMeta: the light metadata OSS returns (ETag, size, Last-Modified). */
export function getObjectMeta(ctx: RequestContext, env: HandlerEnv): void {
  const object = findObject(ctx, env);
  ctx.send(200, {
    ETag: quoted(object.etag),
    'Content-Length': object.size,
    'Last-Modified': object.lastModified.toUTCString(),
    'x-oss-last-access-time': object.lastModified.toUTCString(),
  });
}

/** DeleteObject: 204 whether or not the object existed. */
export function deleteObject(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  bucket.delete(requireKey(ctx));
  ctx.send(204, {});
}

/** CopyObject: PUT with x-oss-copy-source; content is shared, metadata copied or replaced. */
export function copyObject(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const source = parseCopySource(ctx);
  const sourceBucket = env.store.buckets.get(source.bucket);
  if (!sourceBucket) throw noSuchBucket(source.bucket);
  const original = sourceBucket.get(source.key);
  if (!original) throw noSuchKey(source.key);
  if (sourceBucket !== bucket && original.size > MAX_OBJECT_SIZE) {
    throw new OssError(400, 'EntityTooLarge', 'Copying more than 5 GB between buckets needs UploadPartCopy.');
  }
  const condition = failedCondition(ctx, original, 'x-oss-copy-source-');
  if (condition === 412) throw preconditionFailed('x-oss-copy-source-if-match/if-unmodified-since');
  if (condition === 304) {
    ctx.send(304, {});
    return;
  }
  const directive = (ctx.header('x-oss-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw invalidArgument('The x-oss-metadata-directive must be COPY or REPLACE.', 'x-oss-metadata-directive', directive);
  }
  if (forbidsOverwrite(ctx) && bucket.get(key) && !(sourceBucket === bucket && source.key === key)) throw fileAlreadyExists();
  const metadata: ObjectMetadata =
    directive === 'REPLACE' ? metadataFromRequest(ctx) : { contentType: original.contentType, headers: { ...original.headers }, meta: { ...original.meta } };
  const lastModified = wholeSeconds(env.now());
  bucket.put({
    key,
    chunks: [...original.chunks],
    size: original.size,
    etag: original.etag,
    lastModified,
    type: original.type,
    ...(original.appendHash ? { appendHash: original.appendHash.copy() } : {}),
    ...metadata,
  });
  ctx.sendXml(
    'CopyObjectResult',
    [
      ['ETag', quoted(original.etag)],
      ['LastModified', lastModified.toISOString()],
    ],
    { ETag: quoted(original.etag) },
  );
}

function positionNotEqualToLength(length: number): OssError {
  return new OssError(409, 'PositionNotEqualToLength', 'Position is not equal to file length', [], {
    'x-oss-next-append-position': String(length),
  });
}

function checkAppendable(object: StoredObject | undefined, position: number): void {
  if (object && object.type !== 'Appendable') {
    throw new OssError(409, 'ObjectNotAppendable', 'The object is not appendable', [], { 'x-oss-next-append-position': String(object.size) });
  }
  const length = object?.size ?? 0;
  if (position !== length) throw positionNotEqualToLength(length);
}

/** AppendObject: POST ?append&position=N; the position must equal the current length. */
export async function appendObject(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const positionText = ctx.param('position') ?? '';
  if (!/^\d+$/.test(positionText)) throw invalidArgument('position must be a non-negative integer.', 'position', positionText);
  const position = Number(positionText);
  checkAppendable(bucket.get(key), position);
  const body = await receiveBody(ctx, MAX_OBJECT_SIZE - position, () => entityTooLarge(MAX_OBJECT_SIZE));
  checkContentMd5(ctx, body.md5);
  // Another append may have landed while this body was arriving.
  const current = bucket.get(key);
  checkAppendable(current, position);
  const lastModified = wholeSeconds(env.now());
  let object: StoredObject;
  if (current) {
    // Readers took bounded slices of the list, so it can grow in place.
    for (const chunk of body.chunks) {
      current.chunks.push(chunk);
      current.appendHash!.update(chunk);
    }
    current.size += body.size;
    current.etag = current.appendHash!.copy().digest('hex').toUpperCase();
    current.lastModified = lastModified;
    object = current;
  } else {
    const appendHash = createHash('md5');
    for (const chunk of body.chunks) appendHash.update(chunk);
    object = {
      key,
      chunks: body.chunks,
      size: body.size,
      etag: appendHash.copy().digest('hex').toUpperCase(),
      lastModified,
      type: 'Appendable',
      appendHash,
      ...metadataFromRequest(ctx),
    };
    bucket.put(object);
  }
  ctx.send(200, { ETag: quoted(object.etag), 'x-oss-next-append-position': String(object.size) });
}
