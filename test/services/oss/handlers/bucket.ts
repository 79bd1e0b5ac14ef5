/**
 * Service and bucket operations: ListBuckets, PutBucket, DeleteBucket, GetBucketInfo, GetBucketLocation,
 * ListObjects (v1), ListObjectsV2, DeleteMultipleObjects.
 */
import { OssError, invalidArgument, malformedXml } from '../errors';
import { safeDecode } from '../encoding';
import type { RequestContext } from '../request';
import { Bucket, lowerBound, pastPrefix, type StoredObject } from '../store';
import { XmlParseError, childText, childrenNamed, parseXml, type XmlElement, type XmlNode } from '../xml';
import { encodeIf, isUrlEncoding, quoted, readXmlBody, requireBucket, requireBucketName, validateKey, type HandlerEnv } from './common';

const OWNER_ID = '1000000000000000';
const owner = (): XmlNode[] => [
  ['ID', OWNER_ID],
  ['DisplayName', OWNER_ID],
];

const STORAGE_CLASSES = ['Standard', 'IA', 'Archive', 'ColdArchive', 'DeepColdArchive'];
const ACLS = ['private', 'public-read', 'public-read-write'];

function parseBody(text: string, root: string): XmlElement | undefined {
  if (text.trim() === '') return undefined;
  let element: XmlElement;
  try {
    element = parseXml(text);
  } catch (err) {
    if (err instanceof XmlParseError) throw malformedXml(err.message);
    throw err;
  }
  if (element.name !== root) throw malformedXml(`the root element must be ${root}`);
  return element;
}

export async function putBucket(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const name = requireBucketName(ctx);
  const acl = ctx.header('x-oss-acl') ?? 'private';
  if (!ACLS.includes(acl)) throw invalidArgument('no such bucket access control exists', 'x-oss-acl', acl);
  const config = parseBody((await readXmlBody(ctx)).text, 'CreateBucketConfiguration');
  const storageClass = (config && childText(config, 'StorageClass')) ?? 'Standard';
  if (!STORAGE_CLASSES.includes(storageClass)) throw invalidArgument('Invalid storage class.', 'StorageClass', storageClass);
  if (env.store.buckets.has(name)) {
    throw new OssError(
      409,
      'BucketAlreadyExists',
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
      [['BucketName', name]],
    );
  }
  env.store.buckets.set(name, new Bucket(name, env.now(), { storageClass, acl }));
  ctx.send(200, { Location: `/${name}` });
}

export function deleteBucket(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  if (!bucket.isEmpty()) {
    throw new OssError(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty.', [['BucketName', bucket.name]]);
  }
  env.store.buckets.delete(bucket.name);
  ctx.send(204, {});
}

export function getBucketInfo(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  ctx.sendXml('BucketInfo', [
    [
      'Bucket',
      [
        ['AccessMonitor', 'Disabled'],
        ['CreationDate', bucket.created.toISOString()],
        ['ExtranetEndpoint', `${env.location}.aliyuncs.com`],
        ['IntranetEndpoint', `${env.location}-internal.aliyuncs.com`],
        ['Location', env.location],
        ['StorageClass', bucket.config.storageClass],
        ['TransferAcceleration', 'Disabled'],
        ['CrossRegionReplication', 'Disabled'],
        ['DataRedundancyType', 'LRS'],
        ['Name', bucket.name],
        [
          'Owner',
          [
            ['DisplayName', OWNER_ID],
            ['ID', OWNER_ID],
          ],
        ],
        ['AccessControlList', [['Grant', bucket.config.acl]]],
        ['Comment', ''],
        ['ServerSideEncryptionRule', [['SSEAlgorithm', 'None']]],
      ],
    ],
  ]);
}

export function getBucketLocation(ctx: RequestContext, env: HandlerEnv): void {
  requireBucket(ctx, env);
  ctx.send(200, { 'Content-Type': 'application/xml' }, `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint>${env.location}</LocationConstraint>`);
}

function maxKeysOf(ctx: RequestContext, name = 'max-keys'): number {
  const text = ctx.param(name);
  if (text === undefined || text === '') return 100;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= 1000)) throw invalidArgument(`${name} must be an integer between 0 and 1000.`, name, text);
  return value;
}

export function listBuckets(ctx: RequestContext, env: HandlerEnv): void {
  const prefix = ctx.param('prefix') ?? '';
  const marker = ctx.param('marker') ?? '';
  const paged = ctx.has('max-keys') || ctx.has('marker') || ctx.has('prefix');
  const maxKeys = ctx.has('max-keys') ? maxKeysOf(ctx) : 1000;
  const names = [...env.store.buckets.keys()].filter((name) => name.startsWith(prefix) && name > marker).sort();
  const listed = names.slice(0, maxKeys);
  const truncated = listed.length < names.length;
  const children: XmlNode[] = paged
    ? [
        ['Prefix', prefix],
        ['Marker', marker],
        ['MaxKeys', maxKeys],
        ['IsTruncated', truncated],
        ['NextMarker', truncated ? listed[listed.length - 1] : undefined],
      ]
    : [];
  children.push(['Owner', owner()]);
  const buckets: XmlNode[] = listed.map((name) => {
    const bucket = env.store.buckets.get(name)!;
    return [
      'Bucket',
      [
        ['CreationDate', bucket.created.toISOString()],
        ['ExtranetEndpoint', `${env.location}.aliyuncs.com`],
        ['IntranetEndpoint', `${env.location}-internal.aliyuncs.com`],
        ['Location', env.location],
        ['Name', name],
        ['Region', env.location.replace(/^oss-/, '')],
        ['StorageClass', bucket.config.storageClass],
      ],
    ];
  });
  children.push(['Buckets', buckets]);
  ctx.sendXml('ListAllMyBucketsResult', children);
}

interface ListPage {
  objects: StoredObject[];
  prefixes: string[];
  truncated: boolean;
  /** The last key or common prefix listed: where the next page starts (exclusive). */
  last?: string;
}

/**
 * One page of keys after `after`: keys under `prefix`, those with `delimiter` past the prefix rolled up into
 * common prefixes (each counted once towards `max`, and skipped when not after the marker).
 */
function listPage(bucket: Bucket, prefix: string, delimiter: string, after: string, max: number): ListPage {
  const keys = bucket.keys;
  const page: ListPage = { objects: [], prefixes: [], truncated: false };
  let i = Math.max(lowerBound(keys, prefix), lowerBound(keys, after, true));
  while (i < keys.length && keys[i]!.startsWith(prefix)) {
    const key = keys[i]!;
    const at = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const commonPrefix = at < 0 ? undefined : key.slice(0, at + delimiter.length);
    if (commonPrefix !== undefined && commonPrefix <= after) {
      i = pastPrefix(keys, commonPrefix, i);
      continue;
    }
    if (page.objects.length + page.prefixes.length >= max) {
      page.truncated = true;
      break;
    }
    if (commonPrefix !== undefined) {
      page.prefixes.push(commonPrefix);
      page.last = commonPrefix;
      i = pastPrefix(keys, commonPrefix, i);
    } else {
      page.objects.push(bucket.get(key)!);
      page.last = key;
      i++;
    }
  }
  return page;
}

function contents(object: StoredObject, url: boolean, withOwner: boolean): XmlNode {
  return [
    'Contents',
    [
      ['Key', encodeIf(url, object.key)],
      ['LastModified', object.lastModified.toISOString()],
      ['ETag', quoted(object.etag)],
      ['Type', object.type],
      ['Size', object.size],
      ['StorageClass', 'Standard'],
      ['Owner', withOwner ? owner() : undefined],
    ],
  ];
}

/** ListObjects (v1): prefix, delimiter, marker, max-keys, encoding-type. */
export function listObjects(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  const url = isUrlEncoding(ctx);
  const prefix = ctx.param('prefix') ?? '';
  const delimiter = ctx.param('delimiter') ?? '';
  const marker = ctx.param('marker') ?? '';
  const maxKeys = maxKeysOf(ctx);
  const page = listPage(bucket, prefix, delimiter, marker, maxKeys);
  const children: XmlNode[] = [
    ['Name', bucket.name],
    ['Prefix', encodeIf(url, prefix)],
    ['Marker', encodeIf(url, marker)],
    ['MaxKeys', maxKeys],
    ['Delimiter', encodeIf(url, delimiter)],
    ['EncodingType', url ? 'url' : undefined],
    ['IsTruncated', page.truncated],
    ['NextMarker', page.truncated && page.last !== undefined ? encodeIf(url, page.last) : undefined],
  ];
  for (const object of page.objects) children.push(contents(object, url, true));
  for (const commonPrefix of page.prefixes) children.push(['CommonPrefixes', [['Prefix', encodeIf(url, commonPrefix)]]]);
  ctx.sendXml('ListBucketResult', children);
}

const TOKEN_TAG = 'stowage-oss:';

function encodeToken(after: string): string {
  return Buffer.from(TOKEN_TAG + after, 'utf8').toString('base64');
}

function decodeToken(token: string): string {
  const text = Buffer.from(token, 'base64').toString('utf8');
  if (!text.startsWith(TOKEN_TAG)) throw invalidArgument('The continuation token provided is incorrect.', 'continuation-token', token);
  return text.slice(TOKEN_TAG.length);
}

/** ListObjectsV2 (list-type=2): continuation-token, start-after, fetch-owner, KeyCount. */
export function listObjectsV2(ctx: RequestContext, env: HandlerEnv): void {
  const bucket = requireBucket(ctx, env);
  const url = isUrlEncoding(ctx);
  const prefix = ctx.param('prefix') ?? '';
  const delimiter = ctx.param('delimiter') ?? '';
  const startAfter = ctx.param('start-after');
  const token = ctx.param('continuation-token');
  const fetchOwner = ctx.param('fetch-owner') === 'true';
  const maxKeys = maxKeysOf(ctx);
  const after = token !== undefined && token !== '' ? decodeToken(token) : (startAfter ?? '');
  const page = listPage(bucket, prefix, delimiter, after, maxKeys);
  const children: XmlNode[] = [
    ['Name', bucket.name],
    ['Prefix', encodeIf(url, prefix)],
    ['StartAfter', startAfter !== undefined ? encodeIf(url, startAfter) : undefined],
    ['ContinuationToken', token || undefined],
    ['MaxKeys', maxKeys],
    ['Delimiter', encodeIf(url, delimiter)],
    ['EncodingType', url ? 'url' : undefined],
    ['IsTruncated', page.truncated],
    ['NextContinuationToken', page.truncated && page.last !== undefined ? encodeToken(page.last) : undefined],
    ['KeyCount', page.objects.length + page.prefixes.length],
  ];
  for (const object of page.objects) children.push(contents(object, url, fetchOwner));
  for (const commonPrefix of page.prefixes) children.push(['CommonPrefixes', [['Prefix', encodeIf(url, commonPrefix)]]]);
  ctx.sendXml('ListBucketResult', children);
}

/** DeleteMultipleObjects: POST ?delete with <Delete><Quiet/><Object><Key/></Object>...</Delete>, at most 1000. */
export async function deleteMultipleObjects(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const bucket = requireBucket(ctx, env);
  const url = isUrlEncoding(ctx);
  // OSS requires Content-MD5 here (error 0016-00000606); readXmlBody then checks it against the body.
  if (ctx.header('content-md5') === undefined) {
    throw invalidArgument('Missing required header for this request: Content-MD5.', 'Content-MD5', '');
  }
  const root = parseBody((await readXmlBody(ctx)).text, 'Delete');
  if (!root) throw malformedXml('the request body is empty');
  const quiet = (childText(root, 'Quiet') ?? 'false').trim().toLowerCase() === 'true';
  const objects = childrenNamed(root, 'Object');
  if (objects.length === 0) throw malformedXml('Delete lists no Object');
  if (objects.length > 1000) throw malformedXml('Delete lists more than 1000 objects');
  const keys = objects.map((object) => {
    const raw = childText(object, 'Key');
    if (raw === undefined) throw malformedXml('every Object needs a Key');
    const key = url ? safeDecode(raw) : raw;
    validateKey(key);
    return key;
  });
  const children: XmlNode[] = [['EncodingType', url ? 'url' : undefined]];
  for (const key of keys) {
    bucket.delete(key);
    if (!quiet) children.push(['Deleted', [['Key', encodeIf(url, key)]]]);
  }
  ctx.sendXml('DeleteResult', children);
}
