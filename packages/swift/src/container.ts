/**
 * The driver's view of one container: object reads and writes, listings, manifests, server-side
 * copies and deletes (bulk when the cluster offers it), all by object name.
 */
import { Semaphore, type OpOptions } from '@stowage/core';
import { type SwiftClient, escapeName, type SwiftRequest } from './http/client';
import { SwiftHttpError } from './http/errors';
import { bodyText, discard, header, type HttpResponse } from './http/transport';

/** What a HEAD tells about an object. */
export interface ObjectHead {
  size: number;
  modTime: Date;
  etag?: string;
  /** A Static Large Object manifest. */
  slo: boolean;
  /** A Dynamic Large Object's `X-Object-Manifest` (`container/prefix`), as distribution writes them. */
  dloManifest?: string;
  /** The segment generation of an SLO this driver wrote (its X-Object-Meta-Stowage-Gen). */
  generation?: string;
}

export interface ListedObject {
  name: string;
  /** The listing's size: 0 for a DLO manifest, the total for an SLO. */
  bytes: number;
  modTime: Date;
  hash: string;
  slo: boolean;
  /**
   * The listing's size and hash are not the content's: a non-empty entry with the MD5 of no bytes.
   * Ceph RGW lists a Static Large Object that way (the size of its manifest, no `slo_etag`); only
   * a HEAD tells what it is.
   */
  unverified: boolean;
}

export interface ListPage {
  objects: ListedObject[];
  /** With a delimiter: the common prefixes, ending in it. */
  prefixes: string[];
}

export interface ListQuery extends OpOptions {
  delimiter?: string;
  /** List names after this one. */
  marker?: string;
  /** Stop after this many names (one page). */
  limit?: number;
  /** Names per request while following markers; the server's own limit (10,000 by default) when unset. */
  pageSize?: number;
}

/** One SLO manifest entry, in the form PUT ?multipart-manifest=put takes. */
export interface SloSegment {
  path: string;
  etag: string | null;
  size_bytes: number | null;
}

/** One entry of `GET ?multipart-manifest=get` (without format=raw). */
export interface ManifestListingEntry {
  name: string;
  bytes: number;
  hash: string;
  sub_slo?: boolean;
  range?: string;
}

const GENERATION_HEADER = 'x-object-meta-stowage-gen';
const CONTENT_TYPE = 'application/octet-stream';
/** Deletes one at a time run this many at once when bulk delete is not available. */
const DELETE_CONCURRENCY = 8;

export class SwiftContainer {
  constructor(
    readonly client: SwiftClient,
    readonly name: string,
  ) {}

  private request(req: Omit<SwiftRequest, 'container'>): Promise<HttpResponse> {
    return this.client.request({ ...req, container: this.name });
  }

  /** Creates the container if it is missing (asking first, so users who may not create containers can use an existing one). */
  async ensureExists(opts: OpOptions): Promise<void> {
    const head = await this.client.request({ method: 'HEAD', container: this.name, ok: [200, 204, 404], signal: opts.signal });
    await discard(head);
    if (head.statusCode !== 404) return;
    await discard(await this.client.request({ method: 'PUT', container: this.name, ok: [201, 202], signal: opts.signal }));
  }

  async head(object: string, opts: OpOptions): Promise<ObjectHead | undefined> {
    const response = await this.request({ method: 'HEAD', object, ok: [200, 204, 404], signal: opts.signal });
    await discard(response);
    if (response.statusCode === 404) return undefined;
    return objectHead(response);
  }

  /** A GET from `offset` to the end; 'beyond-end' when the offset is at or past it (416). */
  async get(object: string, offset: number, opts: OpOptions): Promise<HttpResponse | 'beyond-end'> {
    const response = await this.request({
      method: 'GET',
      object,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      ok: [200, 206, 416],
      signal: opts.signal,
    });
    if (response.statusCode === 416) {
      await discard(response);
      return 'beyond-end';
    }
    return response;
  }

  /** A whole small object, or undefined if there is none. */
  async getBuffer(object: string, opts: OpOptions): Promise<Buffer | undefined> {
    const response = await this.request({ method: 'GET', object, ok: [200, 404], signal: opts.signal });
    if (response.statusCode === 404) {
      await discard(response);
      return undefined;
    }
    return Buffer.from(await response.body.arrayBuffer());
  }

  /**
   * PUT of a whole object; returns its ETag (the MD5), or '' when Swift answered 202: a write with a
   * newer timestamp to the same name got there first, so this one is already overwritten (last
   * writer wins, as with any two PUTs).
   */
  async put(object: string, body: Buffer, opts: OpOptions, headers: Record<string, string> = {}): Promise<string> {
    const response = await this.request({
      method: 'PUT',
      object,
      headers: { 'content-type': CONTENT_TYPE, 'content-length': String(body.length), ...headers },
      body,
      ok: [201, 202],
      signal: opts.signal,
    });
    await discard(response);
    return response.statusCode === 201 ? (header(response, 'etag') ?? '').replace(/"/g, '') : '';
  }

  /**
   * An SLO manifest over `segments`, tagged with the generation it owns. False when Swift answered
   * 202 (a newer write to the same name won): the manifest was not stored and owns nothing.
   */
  async putManifest(object: string, segments: SloSegment[], generation: string | undefined, opts: OpOptions): Promise<boolean> {
    const body = Buffer.from(JSON.stringify(segments));
    const response = await this.request({
      method: 'PUT',
      object,
      query: { 'multipart-manifest': 'put' },
      headers: {
        'content-type': CONTENT_TYPE,
        'content-length': String(body.length),
        ...(generation ? { [GENERATION_HEADER]: generation } : {}),
      },
      body,
      ok: [201, 202],
      signal: opts.signal,
    });
    await discard(response);
    return response.statusCode === 201;
  }

  /** The segments an SLO manifest lists (paths are `/container/object`, unescaped). */
  async readManifest(object: string, opts: OpOptions): Promise<SloSegment[]> {
    const response = await this.request({ method: 'GET', object, query: { 'multipart-manifest': 'get', format: 'raw' }, ok: [200], signal: opts.signal });
    return (await response.body.json()) as SloSegment[];
  }

  /**
   * An SLO manifest as Swift lists it: entries with `sub_slo` for nested manifests and `range` for
   * partial segments (names are `/container/object`, unescaped). Undefined when the server answers
   * with an empty body: Ceph RGW (16) does not give manifests back, only the manifest object's
   * own (empty) data.
   */
  async readManifestListing(object: string, opts: OpOptions): Promise<ManifestListingEntry[] | undefined> {
    const response = await this.request({ method: 'GET', object, query: { 'multipart-manifest': 'get' }, ok: [200], signal: opts.signal });
    const text = Buffer.from(await response.body.arrayBuffer()).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as ManifestListingEntry[];
    } catch {
      throw new SwiftHttpError(response.statusCode, 'GET', `${this.name}/${object}?multipart-manifest=get`, `unreadable manifest: ${text.slice(0, 200)}`);
    }
  }

  /** Server-side copy of `source` (`/container/object`, unescaped) to `object`; returns the new ETag. */
  async copy(object: string, source: string, opts: OpOptions, headers: Record<string, string> = {}): Promise<string> {
    const response = await this.request({
      method: 'PUT',
      object,
      headers: { 'x-copy-from': escapeName(source), 'content-length': '0', ...headers },
      // 202: a newer write to the destination won, as for put().
      ok: [201, 202],
      signal: opts.signal,
    });
    await discard(response);
    return (header(response, 'etag') ?? '').replace(/"/g, '');
  }

  /** Deletes one object; false if it was not there. */
  async delete(object: string, opts: OpOptions): Promise<boolean> {
    const response = await this.request({ method: 'DELETE', object, ok: [204, 404], signal: opts.signal });
    await discard(response);
    return response.statusCode !== 404;
  }

  /** Deletes an SLO manifest and every segment it lists, server-side; false if it was not there. */
  async deleteManifest(object: string, opts: OpOptions): Promise<boolean> {
    const response = await this.request({
      method: 'DELETE',
      object,
      query: { 'multipart-manifest': 'delete' },
      headers: { accept: 'application/json' },
      ok: [200, 404],
      signal: opts.signal,
    });
    if (response.statusCode === 404) {
      await discard(response);
      return false;
    }
    // 200 even when it failed: the outcome is in the body.
    const outcome = await bulkOutcome(response, 'DELETE', `${this.name}/${object}`);
    return outcome.deleted > 0;
  }

  /** Deletes objects by name: bulk delete in batches when the cluster has it, else a few at a time. Missing names are fine. */
  async deleteMany(objects: string[], opts: OpOptions): Promise<void> {
    if (objects.length === 0) return;
    const batch = await this.bulkDeleteLimit(opts);
    if (batch === 0 || objects.length === 1) {
      const slots = new Semaphore(DELETE_CONCURRENCY);
      await Promise.all(objects.map((object) => slots.run(() => this.delete(object, opts))));
      return;
    }
    for (let i = 0; i < objects.length; i += batch) {
      const names = objects.slice(i, i + batch).map((object) => `/${escapeName(this.name)}/${escapeName(object)}`);
      const response = await this.client.request({
        method: 'POST',
        query: { 'bulk-delete': '' },
        headers: { 'content-type': 'text/plain', accept: 'application/json' },
        body: `${names.join('\n')}\n`,
        ok: [200],
        signal: opts.signal,
      });
      await bulkOutcome(response, 'POST', 'bulk-delete');
    }
  }

  /** Names per bulk-delete request, or 0 when /info does not offer bulk delete. */
  private async bulkDeleteLimit(opts: OpOptions): Promise<number> {
    const info = await this.client.info(opts.signal);
    const limit = info.bulk_delete?.max_deletes_per_request;
    return typeof limit === 'number' && limit > 0 ? Math.min(limit, 10_000) : 0;
  }

  /** Pages of the listing under `prefix`, in name order, following markers (one page with `limit`). */
  async *list(prefix: string, query: ListQuery = {}): AsyncGenerator<ListPage> {
    let marker = query.marker;
    for (;;) {
      const params: Record<string, string> = { format: 'json', prefix };
      if (query.delimiter) params.delimiter = query.delimiter;
      if (marker !== undefined) params.marker = marker;
      const limit = query.limit ?? query.pageSize;
      if (limit !== undefined) params.limit = String(limit);
      const response = await this.request({ method: 'GET', query: params, ok: [200, 204], signal: query.signal });
      const entries = response.statusCode === 204 ? [] : ((await response.body.json()) as RawEntry[]);
      if (response.statusCode === 204) await discard(response);
      const page: ListPage = { objects: [], prefixes: [] };
      for (const entry of entries) {
        if (entry.subdir !== undefined) page.prefixes.push(entry.subdir);
        else if (entry.name !== undefined) page.objects.push(listedObject(entry));
      }
      if (entries.length > 0) yield page;
      const last = entries[entries.length - 1];
      if (query.limit !== undefined || !last) return;
      marker = last.subdir ?? last.name;
    }
  }

  /** Every object under `prefix`, in name order. */
  async *listAll(prefix: string, opts: OpOptions & { marker?: string; pageSize?: number } = {}): AsyncGenerator<ListedObject> {
    for await (const page of this.list(prefix, opts)) yield* page.objects;
  }
}

interface RawEntry {
  name?: string;
  subdir?: string;
  bytes?: number;
  hash?: string;
  last_modified?: string;
  slo_etag?: string;
}

/** MD5 of no bytes: a plain object's listing hash is the MD5 of its content. */
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

function listedObject(entry: RawEntry): ListedObject {
  const bytes = entry.bytes ?? 0;
  const hash = entry.hash ?? '';
  const slo = entry.slo_etag !== undefined;
  return {
    name: entry.name!,
    bytes,
    modTime: parseListingTime(entry.last_modified),
    hash,
    slo,
    unverified: !slo && bytes > 0 && hash.toLowerCase() === EMPTY_MD5,
  };
}

/**
 * Listing times carry no zone (`2026-11-22T19:04:27.988580`) and are UTC; read as local time they
 * would be off by the machine's offset. Microseconds are cut to milliseconds.
 */
function parseListingTime(text: string | undefined): Date {
  if (!text) return new Date(0);
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*(Z|[+-]\d\d:?\d\d)?$/.exec(text.trim());
  if (!match) return new Date(Date.parse(text));
  return new Date(`${match[1]}${match[2] ?? ''}${match[3] ?? 'Z'}`);
}

function objectHead(response: HttpResponse): ObjectHead {
  // X-Timestamp is the exact write time (Last-Modified is rounded up to the second).
  const timestamp = Number(header(response, 'x-timestamp'));
  const modTime = Number.isFinite(timestamp) && timestamp > 0 ? new Date(Math.floor(timestamp * 1000)) : new Date(header(response, 'last-modified') ?? 0);
  const head: ObjectHead = {
    size: Number(header(response, 'content-length') ?? 0),
    modTime,
    slo: (header(response, 'x-static-large-object') ?? '').toLowerCase() === 'true',
  };
  const etag = header(response, 'etag');
  if (etag) head.etag = etag.replace(/"/g, '');
  const manifest = header(response, 'x-object-manifest');
  if (manifest) head.dloManifest = decodeURIComponent(manifest);
  const generation = header(response, GENERATION_HEADER);
  if (generation) head.generation = generation;
  return head;
}

/** Reads a bulk-delete style answer (bulk delete, SLO delete): throws unless every name was deleted or absent. */
async function bulkOutcome(response: HttpResponse, method: string, target: string): Promise<{ deleted: number; notFound: number }> {
  const text = await bodyText(response);
  let parsed: { 'Response Status'?: string; 'Number Deleted'?: number; 'Number Not Found'?: number; Errors?: unknown[] };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new SwiftHttpError(response.statusCode, method, target, `unreadable answer: ${text.slice(0, 200)}`);
  }
  const status = Number.parseInt(parsed['Response Status'] ?? '200', 10);
  if (!(status >= 200 && status < 300) || (parsed.Errors?.length ?? 0) > 0) {
    throw new SwiftHttpError(
      Number.isFinite(status) ? status : response.statusCode,
      method,
      target,
      `${parsed['Response Status'] ?? ''} ${JSON.stringify(parsed.Errors ?? [])}`,
    );
  }
  return { deleted: parsed['Number Deleted'] ?? 0, notFound: parsed['Number Not Found'] ?? 0 };
}
