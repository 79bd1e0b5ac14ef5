/**
 * The OSS operations the driver and core's StagedUploads need, by key, on ali-oss. Errors are
 * ali-oss's own (the driver maps them). Every request carries the caller's AbortSignal (through
 * the transport's abort hook) and is retried with backoff on network errors, 5xx and throttling.
 */
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  readAll,
  throwIfAborted,
  type CompletedPart,
  type ListOptions,
  type ListPage,
  type ObjectStore,
  type OpOptions,
  type StoredObject,
} from '@stowage/core';
import { requestContext, type OssClient, type OssResponseInfo } from './client';
import { isOssInvalidRange, isOssNoSuchUpload, isOssNotFound, isTransientOssError } from './errors';
import { watchSilence } from '@stowage/core/internal';
import { DEFAULT_SILENCE_TIMEOUT_MS, MAX_PARTS, MIN_CHUNK_SIZE } from './options';

/** DeleteMultipleObjects takes at most this many keys. */
export const DELETE_BATCH = 1000;
/** ListObjectsV2 returns at most this many entries per page. */
export const LIST_PAGE = 1000;
/** How far OSS's clock (and Last-Modified's truncation to seconds) may lag ours when recognising our own completion. */
const COMPLETE_CLOCK_TOLERANCE_MS = 5000;
/** Asks OSS for RFC 7233 ranges: 416 for a range past the end instead of 200 with the whole object. */
const STANDARD_RANGES = { 'x-oss-range-behavior': 'standard' };

export interface OssStoreSettings {
  driverName: string;
  bucket: string;
  /** Headers of every request that creates an object: server-side encryption. */
  creationHeaders: Record<string, string>;
  maxRetries: number;
  /** How long a streamed response body may stay silent while it is read (default 120 s); see OssDriverOptions.silenceTimeoutMs. */
  silenceTimeoutMs?: number;
  /** First backoff delay; doubles per attempt, with jitter. */
  retryBaseDelayMs?: number;
  /** Send `x-oss-range-behavior: standard` with ranged reads (default true); the 200 guard stays either way. */
  standardRanges?: boolean;
}

export class OssStore implements ObjectStore {
  readonly minPartSize = MIN_CHUNK_SIZE;
  readonly maxParts = MAX_PARTS;
  readonly bucket: string;
  private readonly retryBaseDelayMs: number;
  private readonly rangeHeaders: Record<string, string>;

  constructor(
    readonly client: OssClient,
    readonly settings: OssStoreSettings,
  ) {
    this.bucket = settings.bucket;
    this.retryBaseDelayMs = settings.retryBaseDelayMs ?? 100;
    this.rangeHeaders = settings.standardRanges === false ? {} : STANDARD_RANGES;
  }

  /**
   * Runs `call` (with a fresh request context, since ali-oss mutates the options it is given),
   * retrying transient failures up to `maxRetries` times unless the signal fired.
   */
  async send<T>(
    operation: string,
    opts: OpOptions,
    call: (ctx: ReturnType<typeof requestContext>) => Promise<T>,
    onRetryError?: (err: unknown) => Promise<T | undefined>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(opts.signal, { driverName: this.settings.driverName, operation });
      try {
        return await call(requestContext(opts.signal));
      } catch (err) {
        if (attempt > 0 && onRetryError) {
          const recovered = await onRetryError(err);
          if (recovered !== undefined) return recovered;
        }
        if (opts.signal?.aborted || attempt >= this.settings.maxRetries || !isTransientOssError(err)) throw err;
        await backoff(this.retryBaseDelayMs * 2 ** attempt, opts.signal);
      }
    }
  }

  async head(key: string, opts: OpOptions): Promise<StoredObject | undefined> {
    try {
      const { res } = await this.send('head', opts, (ctx) => this.client.head(key, { ctx }));
      return { key, size: contentLength(res), modTime: lastModified(res) };
    } catch (err) {
      if (isOssNotFound(err)) return undefined;
      throw err;
    }
  }

  async get(key: string, opts: OpOptions): Promise<Buffer | undefined> {
    try {
      const { content } = await this.send('get', opts, (ctx) => this.client.get(key, { ctx }));
      return content;
    } catch (err) {
      if (isOssNotFound(err)) return undefined;
      throw err;
    }
  }

  async getRange(key: string, start: number, end: number, opts: OpOptions): Promise<Buffer> {
    if (end <= start) return Buffer.alloc(0);
    const { content, res } = await this.send('getRange', opts, (ctx) =>
      this.client.get(key, { ctx, headers: { Range: `bytes=${start}-${end - 1}`, ...this.rangeHeaders } }),
    );
    // A server that ignored the Range sent the whole object.
    return res.status === 200 ? content.subarray(start, end) : content;
  }

  /**
   * The object from `offset` on, as a stream. A Range at or past the end is an empty read, whether
   * OSS answers 416 (standard range behaviour) or, as it does by default, 200 with the whole object.
   */
  async readFrom(key: string, offset: number, opts: OpOptions): Promise<Readable> {
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-`, ...this.rangeHeaders } : {};
    let stream: Readable;
    let res: OssResponseInfo;
    try {
      ({ stream, res } = await this.send('reader', opts, (ctx) => this.client.getStream(key, { ctx, headers })));
    } catch (err) {
      if (offset > 0 && isOssInvalidRange(err)) return Readable.from([]);
      throw err;
    }
    this.watch(stream);
    if (offset === 0) return stream;
    if (res.status === 206) {
      const range = parseContentRange(res.headers['content-range']);
      if (range?.start !== offset) {
        stream.destroy();
        throw new Error(`OSS answered a read from ${offset} with Content-Range ${String(res.headers['content-range'])}`);
      }
      return stream;
    }
    // 200: the whole object, the Range ignored (OSS's default for a range past the end).
    const size = contentLength(res);
    if (size <= offset) {
      stream.destroy();
      return Readable.from([]);
    }
    const rest = skipBytes(offset);
    // pipeline carries the source's errors to `rest`, and destroying `rest` destroys the source.
    pipeline(stream, rest, () => undefined);
    return rest;
  }

  /**
   * The whole object, read through its stream as one request that is retried as a whole: a body
   * gone silent (see watch) fails the attempt as transient, and the next one reads it all again.
   * The signal destroys the body too (ali-oss's hook ends at a streamed answer's headers).
   */
  async getContent(key: string, opts: OpOptions): Promise<Buffer> {
    return this.send('getContent', opts, async (ctx) => {
      const { stream } = await this.client.getStream(key, { ctx });
      this.watch(stream);
      const onAbort = () => stream.destroy(abortedRead());
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        if (opts.signal?.aborted) onAbort();
        return await readAll(stream);
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    });
  }

  /**
   * ali-oss's timeout ends when a streamed answer's headers arrive: past them, silence in the body
   * (while it is wanted) destroys it, socket and all, with an error ali-oss's timeouts look like,
   * which isTransientOssError retries and mapOssError types as transient.
   */
  private watch(stream: Readable): void {
    const ms = this.settings.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    watchSilence(stream, ms, () => {
      const err = new Error(`the response body sent nothing for ${ms} ms (silenceTimeoutMs)`);
      err.name = 'ResponseTimeoutError';
      return Object.assign(err, { code: 'ResponseTimeoutError', status: -2 });
    });
  }

  async put(key: string, body: Buffer, opts: OpOptions): Promise<void> {
    await this.send('put', opts, (ctx) => this.client.put(key, body, { ctx, headers: { ...this.settings.creationHeaders }, mime: 'application/octet-stream' }));
  }

  async deleteKeys(keys: string[], opts: OpOptions): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      await this.send('delete', opts, (ctx) => this.client.deleteMulti(batch, { ctx, quiet: true }));
    }
  }

  /** One page of a listing and the token of the next (undefined on the last page). */
  async listPage(
    prefix: string,
    opts: OpOptions & { delimiter?: string; startAfter?: string; maxKeys?: number; continuationToken?: string },
  ): Promise<ListPage & { next?: string }> {
    const query: Record<string, string | number> = { prefix, 'max-keys': opts.maxKeys ?? LIST_PAGE };
    if (opts.delimiter) query.delimiter = opts.delimiter;
    if (opts.startAfter !== undefined && opts.continuationToken === undefined) query['start-after'] = opts.startAfter;
    if (opts.continuationToken !== undefined) query['continuation-token'] = opts.continuationToken;
    // ali-oss's listV2 deletes the token from the query it is given: a fresh copy per attempt.
    const page = await this.send('list', opts, (ctx) => this.client.listV2({ ...query }, { ctx }));
    const objects = (page.objects ?? []).map((o) => ({ key: o.name, size: Number(o.size), modTime: new Date(o.lastModified) }));
    const result: ListPage & { next?: string } = { objects, prefixes: page.prefixes ?? [] };
    if (page.isTruncated && page.nextContinuationToken) result.next = page.nextContinuationToken;
    return result;
  }

  /** Every page of a listing, following continuation tokens (only the first with maxKeys, as ListOptions says). */
  async *listPages(prefix: string, opts: ListOptions): AsyncIterable<ListPage> {
    let continuationToken: string | undefined;
    do {
      const page = await this.listPage(prefix, { ...opts, ...(continuationToken === undefined ? {} : { continuationToken }) });
      yield page;
      continuationToken = opts.maxKeys ? undefined : page.next;
    } while (continuationToken !== undefined);
  }

  async *listKeys(prefix: string, opts: OpOptions & { startAfter?: string }): AsyncIterable<StoredObject> {
    for await (const page of this.listPages(prefix, opts)) yield* page.objects;
  }

  /** Server-side copy in one request (objects up to 1 GB). Creation headers are not sent: see the driver's move. */
  async copyObject(destKey: string, sourceKey: string, opts: OpOptions): Promise<void> {
    await this.send('copy', opts, (ctx) => this.client.copy(destKey, sourceKey, { ctx }));
  }

  async createMultipartUpload(key: string, opts: OpOptions): Promise<string> {
    const { uploadId } = await this.send('createMultipartUpload', opts, (ctx) =>
      this.client.initMultipartUpload(key, { ctx, headers: { ...this.settings.creationHeaders } }),
    );
    return uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, opts: OpOptions): Promise<string> {
    const { etag } = await this.send('uploadPart', opts, (ctx) => this.client.uploadPart(key, uploadId, partNumber, body, 0, body.length, { ctx }));
    return etag;
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, start: number, end: number, opts: OpOptions): Promise<string> {
    const { etag } = await this.send('uploadPartCopy', opts, (ctx) =>
      this.client.uploadPartCopy(key, uploadId, partNumber, `${start}-${end - 1}`, { sourceKey, sourceBucketName: this.bucket }, { ctx }),
    );
    return etag;
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[], opts: OpOptions): Promise<void> {
    const list = parts.map((p) => ({ number: p.partNumber, etag: p.etag }));
    const started = Date.now();
    await this.send(
      'completeMultipartUpload',
      opts,
      async (ctx) => {
        await this.client.completeMultipartUpload(key, uploadId, list, { ctx });
        return true;
      },
      // A retry after a lost response finds the upload gone because the first attempt completed it:
      // then the object is there, written since the first attempt (Last-Modified has whole seconds).
      async (err) => {
        if (!isOssNoSuchUpload(err)) return undefined;
        const object = await this.head(key, opts);
        return object && object.modTime.getTime() >= started - COMPLETE_CLOCK_TOLERANCE_MS ? true : undefined;
      },
    );
  }

  async abortMultipartUpload(key: string, uploadId: string, opts: OpOptions): Promise<void> {
    try {
      await this.send('abortMultipartUpload', opts, (ctx) => this.client.abortMultipartUpload(key, uploadId, { ctx }));
    } catch (err) {
      if (!isOssNoSuchUpload(err)) throw err;
    }
  }
}

function header(res: OssResponseInfo, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function contentLength(res: OssResponseInfo): number {
  const value = Number(header(res, 'content-length'));
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`OSS sent no usable Content-Length (${String(header(res, 'content-length'))})`);
  return value;
}

function lastModified(res: OssResponseInfo): Date {
  const value = header(res, 'last-modified');
  const date = value === undefined ? new Date(Number.NaN) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`OSS sent no usable Last-Modified (${String(value)})`);
  return date;
}

/** `bytes START-END/TOTAL` → its numbers. */
export function parseContentRange(value: string | string[] | undefined): { start: number; end: number; total?: number } | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const match = text === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(text.trim());
  if (!match) return undefined;
  const range: { start: number; end: number; total?: number } = { start: Number(match[1]), end: Number(match[2]) };
  if (match[3] !== '*') range.total = Number(match[3]);
  return range;
}

/** Drops the first `count` bytes of a stream. */
export function skipBytes(count: number): Transform {
  let left = count;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (left >= chunk.length) {
        left -= chunk.length;
        callback();
        return;
      }
      const rest = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      callback(null, rest);
    },
  });
}

function abortedRead(): Error {
  const err = new Error('read aborted');
  err.name = 'AbortError';
  return err;
}

/** Waits about `ms` (jittered), ending early, without an error, when the signal fires: the caller's loop reports the abort. */
async function backoff(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await sleep(ms / 2 + Math.random() * ms, undefined, { signal }).catch(() => undefined);
}
