/** Small helpers for answering requests and reading their bodies and headers. */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { RegistryError } from './errors';

/** Every response says which API it speaks, as the spec recommends. */
export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/** Answers with `status`, `headers` and an optional body (Content-Length set for a buffer). */
export function send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}, body?: Buffer): void {
  res.writeHead(status, { ...API_VERSION_HEADER, ...(body ? { 'Content-Length': body.length } : { 'Content-Length': 0 }), ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, Buffer.from(JSON.stringify(value)));
}

export function sendError(res: ServerResponse, err: RegistryError): void {
  sendJson(res, err.status, err.toJSON(), err.headers);
}

/** True when the request carries a body (a Content-Length above 0, or a chunked one). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length !== undefined ? Number(length) > 0 : req.headers['transfer-encoding'] !== undefined;
}

/** The whole body, or a 413 as soon as it is larger than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number, tooLarge: () => RegistryError): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A byte range of a resource of known size, from a `Range: bytes=...` header. */
export type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * The single byte range a Range header asks for, clipped to `size`; undefined (serve everything)
 * when there is none or it is malformed or multiple, as RFC 9110 lets a server do.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? Number.MAX_SAFE_INTEGER : Number(match[2]);
  if (end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** Yields the first `length` bytes of `source`, then stops reading it. */
export async function* firstBytes(source: AsyncIterable<Buffer>, length: number): AsyncGenerator<Buffer> {
  let left = length;
  if (left <= 0) return;
  for await (const chunk of source) {
    if (chunk.length >= left) {
      yield chunk.subarray(0, left);
      return;
    }
    left -= chunk.length;
    yield chunk;
  }
}

/** A query parameter `n`: undefined when absent, else a non-negative integer (or 400). */
export function pageSize(query: URLSearchParams): number | undefined {
  const n = query.get('n');
  if (n === null) return undefined;
  if (!/^\d{1,9}$/.test(n)) throw new RegistryError(400, 'UNSUPPORTED', 'n must be a non-negative integer', { n: n.slice(0, 50) });
  return Number(n);
}

/** One page of sorted `items` after `last`, at most `n` long, and whether more follow. */
export function paginate(items: string[], n: number | undefined, last: string | null): { page: string[]; more: boolean } {
  const after = last === null ? items : items.filter((item) => item > last);
  if (n === undefined) return { page: after, more: false };
  return { page: after.slice(0, n), more: n > 0 && after.length > n };
}
