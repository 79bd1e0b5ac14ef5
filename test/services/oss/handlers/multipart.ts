/**
 * InitiateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload,
 * ListParts and ListMultipartUploads, with OSS's rules: part numbers 1-10000, parts up to 5 GiB, every part
 * but the last at least 100 KiB (checked on complete: EntityTooSmall), parts listed in ascending order
 * (InvalidPartOrder) with their ETags (InvalidPart), ETag of the result `"<md5 of the part MD5s>-<count>"`.
 */
import { createHash } from 'node:crypto';
import { OssError, invalidArgument, malformedXml, noSuchBucket, noSuchKey, noSuchUpload } from '../errors';
import type { RequestContext } from '../request';
import { md5Of, sliceChunks, wholeSeconds, type Bucket, type MultipartUpload, type StoredPart } from '../store';
import { XmlParseError, childText, childrenNamed, parseXml, type XmlNode } from '../xml';
import {
  MAX_PART_NUMBER,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  checkContentMd5,
  encodeIf,
  entityTooLarge,
  failedCondition,
  isUrlEncoding,
  metadataFromRequest,
  parseCopySource,
  preconditionFailed,
  quoted,
  readXmlBody,
  receiveBody,
  requireBucket,
  requireKey,
  sameEtag,
  type HandlerEnv,
} from './common';

export function initiateMultipartUpload(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const url = isUrlEncoding(ctx);
  const upload: MultipartUpload = {
    id: env.store.newUploadId(),
    key,
    initiated: env.now(),
    parts: new Map(),
    ...metadataFromRequest(ctx),
  };
  bucket.uploads.set(upload.id, upload);
  ctx.sendXml('InitiateMultipartUploadResult', [
    ['Bucket', bucket.name],
    ['Key', encodeIf(url, key)],
    ['UploadId', upload.id],
    ['EncodingType', url ? 'url' : undefined],
  ]);
}

/** The upload named by ?uploadId, which must be for this key. */
function findUpload(ctx: RequestContext, bucket: Bucket, key: string): MultipartUpload {
  const id = ctx.param('uploadId') ?? '';
  const upload = bucket.uploads.get(id);
  if (!upload || upload.key !== key) throw noSuchUpload(id);
  return upload;
}

function partNumberOf(ctx: RequestContext): number {
  const text = ctx.param('partNumber') ?? '';
  const number = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(number >= 1 && number <= MAX_PART_NUMBER)) {
    throw invalidArgument(`Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive.`, 'partNumber', text);
  }
  return number;
}

function storePart(upload: MultipartUpload, part: StoredPart): void {
  upload.parts.set(part.number, part);
}

export async function uploadPart(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const number = partNumberOf(ctx);
  findUpload(ctx, bucket, key);
  const body = await receiveBody(ctx, MAX_PART_SIZE, () => entityTooLarge(MAX_PART_SIZE));
  checkContentMd5(ctx, body.md5);
  // The upload may have been completed or aborted while the part was arriving.
  const upload = findUpload(ctx, bucket, key);
  const etag = body.md5.toString('hex').toUpperCase();
  storePart(upload, { number, chunks: body.chunks, size: body.size, md5: body.md5, etag, lastModified: wholeSeconds(env.now()) });
  ctx.send(200, { ETag: quoted(etag), 'Content-MD5': body.md5.toString('base64') });
}

/** `bytes=first-last` (inclusive) inside the source; anything else is InvalidArgument. */
function copyRange(ctx: RequestContext, size: number): { start: number; end: number } {
  const header = ctx.header('x-oss-copy-source-range');
  if (header === undefined) return { start: 0, end: size };
  const match = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  const start = match ? Number(match[1]) : NaN;
  const last = match ? Number(match[2]) : NaN;
  if (!match || start > last || last >= size) {
    throw invalidArgument('The x-oss-copy-source-range is not valid for the source object.', 'x-oss-copy-source-range', header);
  }
  return { start, end: last + 1 };
}

export async function uploadPartCopy(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const number = partNumberOf(ctx);
  const upload = findUpload(ctx, bucket, key);
  const source = parseCopySource(ctx);
  const sourceBucket = env.store.buckets.get(source.bucket);
  if (!sourceBucket) throw noSuchBucket(source.bucket);
  const original = sourceBucket.get(source.key);
  if (!original) throw noSuchKey(source.key);
  // UploadPartCopy's documentation: objects created by AppendObject cannot be copied this way.
  if (original.type === 'Appendable') {
    throw new OssError(400, 'InvalidArgument', 'Objects of the Appendable type cannot be the source of UploadPartCopy.', [
      ['ArgumentName', 'x-oss-copy-source'],
      ['ArgumentValue', ctx.header('x-oss-copy-source') ?? ''],
    ]);
  }
  const condition = failedCondition(ctx, original, 'x-oss-copy-source-');
  if (condition !== undefined) throw preconditionFailed('x-oss-copy-source-if-*');
  const range = copyRange(ctx, original.size);
  if (range.end - range.start > MAX_PART_SIZE) throw entityTooLarge(MAX_PART_SIZE);
  const chunks = sliceChunks(original.chunks, range.start, range.end);
  const md5 = md5Of(chunks);
  const etag = md5.toString('hex').toUpperCase();
  const lastModified = wholeSeconds(env.now());
  storePart(upload, { number, chunks, size: range.end - range.start, md5, etag, lastModified });
  ctx.sendXml(
    'CopyPartResult',
    [
      ['LastModified', lastModified.toISOString()],
      ['ETag', quoted(etag)],
    ],
    { ETag: quoted(etag) },
  );
}

const invalidPart = (number: number, etag: string) =>
  new OssError(
    400,
    'InvalidPart',
    "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
    [
      ['PartNumber', number],
      ['ETag', etag],
    ],
  );

/** The parts a CompleteMultipartUpload names, in request order, or every uploaded part with x-oss-complete-all. */
async function requestedParts(ctx: RequestContext, upload: MultipartUpload): Promise<StoredPart[]> {
  const { text } = await readXmlBody(ctx);
  if ((ctx.header('x-oss-complete-all') ?? '').toLowerCase() === 'yes') {
    if (text.trim() !== '') throw invalidArgument('With x-oss-complete-all: yes the request body must be empty.', 'x-oss-complete-all', 'yes');
    return [...upload.parts.values()].sort((a, b) => a.number - b.number);
  }
  let root;
  try {
    root = parseXml(text);
  } catch (err) {
    if (err instanceof XmlParseError) throw malformedXml(err.message);
    throw err;
  }
  if (root.name !== 'CompleteMultipartUpload') throw malformedXml('the root element must be CompleteMultipartUpload');
  const listed = childrenNamed(root, 'Part').map((part) => {
    const numberText = childText(part, 'PartNumber')?.trim() ?? '';
    const etag = childText(part, 'ETag') ?? '';
    if (!/^\d+$/.test(numberText)) throw malformedXml('every Part needs a PartNumber');
    return { number: Number(numberText), etag };
  });
  if (listed.length === 0) throw malformedXml('CompleteMultipartUpload lists no Part');
  for (let i = 1; i < listed.length; i++) {
    if (listed[i]!.number <= listed[i - 1]!.number) {
      throw new OssError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts list must be specified in order by part number.', [
        ['PartNumber', listed[i]!.number],
      ]);
    }
  }
  return listed.map(({ number, etag }) => {
    const part = upload.parts.get(number);
    if (!part || !sameEtag(etag, part.etag)) throw invalidPart(number, etag);
    return part;
  });
}

export async function completeMultipartUpload(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const url = isUrlEncoding(ctx);
  if (ctx.header('x-oss-callback') !== undefined) {
    throw new OssError(501, 'NotImplemented', 'Upload callbacks are not implemented by this local OSS server.');
  }
  const upload = findUpload(ctx, bucket, key);
  const parts = await requestedParts(ctx, upload);
  if (parts.length === 0) throw malformedXml('there are no parts to complete');
  for (let i = 0; i < parts.length - 1; i++) {
    if (parts[i]!.size < MIN_PART_SIZE) {
      throw new OssError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.', [
        ['PartNumber', parts[i]!.number],
        ['PartSize', parts[i]!.size],
        ['MinSizeAllowed', MIN_PART_SIZE],
      ]);
    }
  }
  if ((ctx.header('x-oss-forbid-overwrite') ?? '').toLowerCase() === 'true' && bucket.get(key)) {
    throw new OssError(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.');
  }
  if (bucket.uploads.get(upload.id) !== upload) throw noSuchUpload(upload.id);
  const digest = createHash('md5');
  const chunks: Buffer[] = [];
  let size = 0;
  for (const part of parts) {
    digest.update(part.md5);
    for (const chunk of part.chunks) chunks.push(chunk);
    size += part.size;
  }
  const etag = `${digest.digest('hex').toUpperCase()}-${parts.length}`;
  bucket.uploads.delete(upload.id);
  bucket.put({
    key,
    chunks,
    size,
    etag,
    lastModified: wholeSeconds(env.now()),
    type: 'Multipart',
    contentType: upload.contentType,
    headers: upload.headers,
    meta: upload.meta,
  });
  ctx.sendXml(
    'CompleteMultipartUploadResult',
    [
      ['EncodingType', url ? 'url' : undefined],
      ['Location', `http://${bucket.name}.${env.location}.aliyuncs.com/${encodeIf(url, key)}`],
      ['Bucket', bucket.name],
      ['Key', encodeIf(url, key)],
      ['ETag', quoted(etag)],
    ],
    { ETag: quoted(etag) },
  );
}

export function abortMultipartUpload(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  const upload = findUpload(ctx, bucket, requireKey(ctx));
  bucket.uploads.delete(upload.id);
  ctx.send(204, {});
}

function boundedInteger(ctx: RequestContext, name: string, fallback: number, max: number, min = 1): number {
  const text = ctx.param(name);
  if (text === undefined || text === '') return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw invalidArgument(`${name} must be an integer between ${min} and ${max}.`, name, text);
  return value;
}

export function listParts(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  const key = requireKey(ctx);
  const upload = findUpload(ctx, bucket, key);
  const url = isUrlEncoding(ctx);
  const maxParts = boundedInteger(ctx, 'max-parts', 1000, 1000);
  const marker = boundedInteger(ctx, 'part-number-marker', 0, MAX_PART_NUMBER, 0);
  const remaining = [...upload.parts.values()].filter((part) => part.number > marker).sort((a, b) => a.number - b.number);
  const listed = remaining.slice(0, maxParts);
  const truncated = remaining.length > listed.length;
  const children: XmlNode[] = [
    ['Bucket', bucket.name],
    ['EncodingType', url ? 'url' : undefined],
    ['Key', encodeIf(url, key)],
    ['UploadId', upload.id],
    ['PartNumberMarker', marker],
    ['NextPartNumberMarker', listed.length > 0 ? listed[listed.length - 1]!.number : marker],
    ['MaxParts', maxParts],
    ['IsTruncated', truncated],
  ];
  for (const part of listed) {
    children.push([
      'Part',
      [
        ['PartNumber', part.number],
        ['LastModified', part.lastModified.toISOString()],
        ['ETag', quoted(part.etag)],
        ['Size', part.size],
      ],
    ]);
  }
  ctx.sendXml('ListPartsResult', children);
}

/** ListMultipartUploads: uploads sorted by key then upload ID, with prefix/delimiter/markers. */
export function listMultipartUploads(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  const url = isUrlEncoding(ctx);
  const prefix = ctx.param('prefix') ?? '';
  const delimiter = ctx.param('delimiter') ?? '';
  const keyMarker = ctx.param('key-marker') ?? '';
  const uploadIdMarker = ctx.param('upload-id-marker') ?? '';
  const maxUploads = boundedInteger(ctx, 'max-uploads', 1000, 1000);
  // Within a key, by upload ID: upload-id-marker means "IDs after this one" for key-marker's key.
  const order = (a: MultipartUpload, b: MultipartUpload) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const all = [...bucket.uploads.values()].filter((u) => u.key.startsWith(prefix)).sort(order);
  // Past the markers: keys after key-marker, or the same key with an upload ID after upload-id-marker.
  const afterMarker = all.filter((u) =>
    keyMarker === '' ? true : u.key > keyMarker || (uploadIdMarker !== '' && u.key === keyMarker && u.id > uploadIdMarker),
  );
  const uploads: MultipartUpload[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let nextKeyMarker = '';
  let nextUploadIdMarker = '';
  for (const upload of afterMarker) {
    let commonPrefix: string | undefined;
    if (delimiter !== '') {
      const at = upload.key.indexOf(delimiter, prefix.length);
      if (at >= 0) commonPrefix = upload.key.slice(0, at + delimiter.length);
    }
    if (commonPrefix !== undefined && (prefixes[prefixes.length - 1] === commonPrefix || commonPrefix <= keyMarker)) continue;
    if (uploads.length + prefixes.length >= maxUploads) {
      truncated = true;
      break;
    }
    if (commonPrefix !== undefined) {
      prefixes.push(commonPrefix);
      nextKeyMarker = commonPrefix;
      nextUploadIdMarker = '';
    } else {
      uploads.push(upload);
      nextKeyMarker = upload.key;
      nextUploadIdMarker = upload.id;
    }
  }
  const children: XmlNode[] = [
    ['Bucket', bucket.name],
    ['EncodingType', url ? 'url' : undefined],
    ['KeyMarker', encodeIf(url, keyMarker)],
    ['UploadIdMarker', uploadIdMarker],
    ['NextKeyMarker', truncated ? encodeIf(url, nextKeyMarker) : ''],
    ['NextUploadIdMarker', truncated ? nextUploadIdMarker : ''],
    ['Delimiter', encodeIf(url, delimiter)],
    ['Prefix', encodeIf(url, prefix)],
    ['MaxUploads', maxUploads],
    ['IsTruncated', truncated],
  ];
  for (const upload of uploads) {
    children.push([
      'Upload',
      [
        ['Key', encodeIf(url, upload.key)],
        ['UploadId', upload.id],
        ['StorageClass', 'Standard'],
        ['Initiated', upload.initiated.toISOString()],
      ],
    ]);
  }
  for (const commonPrefix of prefixes) children.push(['CommonPrefixes', [['Prefix', encodeIf(url, commonPrefix)]]]);
  ctx.sendXml('ListMultipartUploadsResult', children);
}
