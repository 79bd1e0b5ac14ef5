/** One request as the handlers see it: where it is addressed, its parameters, and how to answer it. */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { OssError } from './errors';
import { parseQuery, safeDecode, type QueryParam } from './encoding';
import { xmlDocument, type XmlNode } from './xml';

type AddressingStyle = 'virtual-hosted' | 'path';

export interface Target {
  style: AddressingStyle;
  bucket?: string;
  /** Decoded object key; undefined (or '') for bucket- and service-level requests. */
  key?: string;
}

/** Host names under which `<bucket>.<name>` is a virtual-hosted bucket, besides *.oss-*.aliyuncs.com. */
const LOCAL_SERVICE_HOSTS = ['localhost'];

function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return (colon >= 0 ? host.slice(0, colon) : host).toLowerCase();
}

/** The bucket named by the Host header, if the request is virtual-hosted. */
export function bucketFromHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const hostname = hostnameOf(host);
  if (isIP(hostname)) return undefined;
  for (const service of LOCAL_SERVICE_HOSTS) {
    if (hostname.endsWith(`.${service}`)) return hostname.slice(0, -service.length - 1);
  }
  // Region endpoints: oss-cn-hangzhou.aliyuncs.com (service) and bucket.oss-cn-hangzhou.aliyuncs.com.
  const regional = /^(.+)\.(oss-[a-z0-9-]+\.aliyuncs\.com)$/.exec(hostname);
  if (regional && !regional[1]!.startsWith('oss-')) return regional[1];
  return undefined;
}

/** Resolves bucket and key from the Host header and the path, as OSS does for both addressing styles. */
export function resolveTarget(host: string | undefined, rawPath: string): Target {
  const hostBucket = bucketFromHost(host);
  if (hostBucket !== undefined) {
    const key = safeDecode(rawPath.replace(/^\//, ''));
    return { style: 'virtual-hosted', bucket: hostBucket, key: key === '' ? undefined : key };
  }
  const path = rawPath.replace(/^\//, '');
  if (path === '') return { style: 'path' };
  const slash = path.indexOf('/');
  const bucket = safeDecode(slash < 0 ? path : path.slice(0, slash));
  const key = slash < 0 ? '' : safeDecode(path.slice(slash + 1));
  return { style: 'path', bucket, key: key === '' ? undefined : key };
}

/** A request-target split into the authority it names (absolute-form only), its path and its raw query. */
export interface RequestTarget {
  /** `host[:port]` of an absolute-form target (userinfo dropped); undefined for origin-form. */
  authority?: string;
  /** The raw (still percent-encoded) path; `/` when an absolute-form target has none. */
  path: string;
  /** The raw query after `?` ('' when there is none). */
  query: string;
}

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/;

/**
 * Splits the request-target of the request line. Clients send origin-form (`/key?query`) to servers and
 * absolute-form (`http://host:port/key?query`) to proxies, but a server must accept both (RFC 9112
 * §3.2.2), and some clients send absolute-form to servers too (aliyungo, the Go OSS client of
 * distribution's oss driver, does on every request). The target URI is then the absolute-form target
 * itself (RFC 9112 §3.3): its authority, not the Host header, names the host — and so the bucket of a
 * virtual-hosted request — and only its path names the key.
 */
export function parseRequestTarget(target: string): RequestTarget {
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute) {
    const authority = absolute[1]!;
    const at = authority.lastIndexOf('@');
    return { authority: at < 0 ? authority : authority.slice(at + 1), path: absolute[2] || '/', query: absolute[3] ?? '' };
  }
  const q = target.indexOf('?');
  return { path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1) };
}

let requestCounter = 0;
const processTag = randomBytes(8).toString('hex').toUpperCase();

/** 24 uppercase hex characters, like OSS's request IDs: a per-process tag and a counter. */
function newRequestId(): string {
  requestCounter = (requestCounter + 1) % 0x100000000;
  return `${processTag}${requestCounter.toString(16).toUpperCase().padStart(8, '0')}`;
}

export class RequestContext {
  readonly requestId = newRequestId();
  readonly method: string;
  readonly rawPath: string;
  readonly query: QueryParam[];
  readonly target: Target;
  /** The host the request is addressed to: an absolute-form target's authority, else the Host header. */
  readonly host: string | undefined;
  private answered = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.method = (req.method ?? 'GET').toUpperCase();
    const requestTarget = parseRequestTarget(req.url ?? '/');
    this.rawPath = requestTarget.path;
    this.query = parseQuery(requestTarget.query);
    this.host = requestTarget.authority ?? req.headers.host;
    this.target = resolveTarget(this.host, this.rawPath);
  }

  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }

  get bucketName(): string | undefined {
    return this.target.bucket;
  }

  get key(): string | undefined {
    return this.target.key;
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  }

  has(param: string): boolean {
    return this.query.some((p) => p.key === param);
  }

  param(name: string): string | undefined {
    return this.query.find((p) => p.key === name)?.value;
  }

  get hostId(): string {
    return this.host ?? 'localhost';
  }

  get isAnswered(): boolean {
    return this.answered || this.res.headersSent;
  }

  private baseHeaders(extra: Record<string, string | number>): Record<string, string | number> {
    return { Server: 'AliyunOSS', 'x-oss-request-id': this.requestId, ...extra };
  }

  /** Sends a response with a complete body (or none). */
  send(status: number, headers: Record<string, string | number>, body?: string | Buffer): void {
    this.answered = true;
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    this.res.writeHead(status, this.baseHeaders({ 'Content-Length': payload?.length ?? 0, ...headers }));
    this.res.end(this.method === 'HEAD' ? undefined : payload);
  }

  /** Starts a streamed response; the caller writes the body. */
  begin(status: number, headers: Record<string, string | number>): void {
    this.answered = true;
    this.res.writeHead(status, this.baseHeaders(headers));
  }

  sendXml(root: string, children: XmlNode[], headers: Record<string, string | number> = {}): void {
    this.send(200, { 'Content-Type': 'application/xml', ...headers }, xmlDocument(root, children));
  }

  /**
   * An error as OSS sends it: XML body with Code, Message, RequestId, HostId and the code's details.
   * HEAD responses carry no body, so the same XML goes base64-encoded in x-oss-err (ali-oss reads it).
   */
  sendError(err: OssError): void {
    if (this.isAnswered) {
      this.res.destroy();
      return;
    }
    const body = xmlDocument('Error', [['Code', err.code], ['Message', err.message], ['RequestId', this.requestId], ['HostId', this.hostId], ...err.details]);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/xml', ...err.headers };
    if (this.method === 'HEAD') headers['x-oss-err'] = Buffer.from(body, 'utf8').toString('base64');
    this.send(err.status, headers, body);
  }
}

/** The body of a request, as received, with its MD5. */
export interface ReceivedBody {
  chunks: Buffer[];
  size: number;
  md5: Buffer;
}

export class BodyTooLarge extends Error {}

/** Reads the whole request body, hashing as it goes; `limit` bounds its size. */
export function readBody(req: IncomingMessage, limit: number): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const hash = createHash('md5');
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLarge());
        return;
      }
      hash.update(chunk);
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve({ chunks, size, md5: hash.digest() });
    });
    req.on('error', (err) => {
      failed = true;
      reject(err);
    });
    req.on('aborted', () => {
      failed = true;
      reject(new Error('request aborted'));
    });
  });
}

export function isOssError(err: unknown): err is OssError {
  return err instanceof OssError;
}
