/**
 * In-memory state of the local OSS server. Object content is kept as the list of Buffers it arrived in
 * (never concatenated: a completed multipart object is the concatenation of its parts' lists), and Buffers
 * are never mutated, so copies share them.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';

type ObjectType = 'Normal' | 'Multipart' | 'Appendable';

/** Content-Type and the other standard headers OSS stores with an object, plus x-oss-meta-*. */
export interface ObjectMetadata {
  contentType: string;
  /** cache-control, content-disposition, content-encoding, content-language, expires (lowercase names). */
  headers: Record<string, string>;
  /** x-oss-meta-* headers, full lowercase names. */
  meta: Record<string, string>;
}

export interface StoredObject extends ObjectMetadata {
  key: string;
  chunks: Buffer[];
  size: number;
  /** Uppercase hex, without quotes (OSS's ETags are uppercase). */
  etag: string;
  /** Whole seconds, as OSS keeps it. */
  lastModified: Date;
  type: ObjectType;
  /** Running MD5 of an Appendable object's content, so appends need not rehash it. */
  appendHash?: Hash;
}

export interface StoredPart {
  number: number;
  chunks: Buffer[];
  size: number;
  md5: Buffer;
  etag: string;
  lastModified: Date;
}

export interface MultipartUpload extends ObjectMetadata {
  id: string;
  key: string;
  initiated: Date;
  parts: Map<number, StoredPart>;
}

export interface BucketConfig {
  storageClass: string;
  acl: string;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first element of the sorted array that is >= value (or > value when `after`). */
export function lowerBound(sorted: readonly string[], value: string, after = false): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(sorted[mid]!, value);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of the sorted array past every key that starts with prefix. */
export function pastPrefix(sorted: readonly string[], prefix: string, from = 0): number {
  let lo = Math.max(from, lowerBound(sorted, prefix));
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.startsWith(prefix)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Bucket {
  readonly objects = new Map<string, StoredObject>();
  /** The object keys in sorted order, kept alongside the map for listing. */
  readonly keys: string[] = [];
  readonly uploads = new Map<string, MultipartUpload>();

  constructor(
    readonly name: string,
    readonly created: Date,
    readonly config: BucketConfig,
  ) {}

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  put(object: StoredObject): void {
    if (!this.objects.has(object.key)) this.keys.splice(lowerBound(this.keys, object.key), 0, object.key);
    this.objects.set(object.key, object);
  }

  delete(key: string): boolean {
    if (!this.objects.delete(key)) return false;
    const index = lowerBound(this.keys, key);
    if (this.keys[index] === key) this.keys.splice(index, 1);
    return true;
  }

  isEmpty(): boolean {
    return this.objects.size === 0 && this.uploads.size === 0;
  }
}

export class Store {
  readonly buckets = new Map<string, Bucket>();
  private idCounter = 0;

  /** With a seed, upload IDs are a deterministic sequence (so captured requests can be replayed). */
  constructor(private readonly uploadIdSeed?: string) {}

  newUploadId(): string {
    if (this.uploadIdSeed === undefined) return randomBytes(16).toString('hex').toUpperCase();
    return createHash('md5').update(`${this.uploadIdSeed}:${this.idCounter++}`).digest('hex').toUpperCase();
  }
}

/** The bytes [start, end) of a chunk list, as views on the stored Buffers. */
export function sliceChunks(chunks: readonly Buffer[], start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  for (const chunk of chunks) {
    const chunkEnd = offset + chunk.length;
    if (chunkEnd > start && offset < end) {
      out.push(chunk.subarray(Math.max(0, start - offset), Math.min(chunk.length, end - offset)));
    }
    offset = chunkEnd;
    if (offset >= end) break;
  }
  return out;
}

export function md5Of(chunks: readonly Buffer[]): Buffer {
  const hash = createHash('md5');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest();
}

/** Now, truncated to whole seconds as OSS's Last-Modified is. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
