/**
 * The ali-oss client the driver uses, with the narrow typing of the calls it makes, and an HTTP
 * transport that honours AbortSignals: ali-oss has no signal support, but it hands every request's
 * `ctx` to its urllib client untouched, so each call carries a hook the transport uses to destroy
 * its request when the caller's signal fires.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import OSS from 'ali-oss';
import type { Readable } from 'node:stream';
import type { OssCredentials } from './options';

/** Registers `cancel` to run on abort; returns the function that unregisters it. */
type AbortHook = (cancel: () => void) => () => void;

/** What each driver request passes as ali-oss's `ctx`. A function survives ali-oss's deep copies of options. */
export interface RequestContext {
  onAbort?: AbortHook;
}

export interface OssResponseInfo {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

interface CallOptions {
  ctx?: RequestContext;
  timeout?: number;
  headers?: Record<string, string>;
}

interface ListV2Page {
  objects?: Array<{ name: string; size: number; lastModified: string }>;
  prefixes?: string[] | null;
  isTruncated: boolean;
  nextContinuationToken?: string | null;
}

/** The ali-oss calls the driver makes, as ali-oss 6.x implements them. */
export interface OssClient {
  readonly options: { bucket: string | null };
  head(name: string, options?: CallOptions): Promise<{ status: number; res: OssResponseInfo }>;
  get(name: string, options?: CallOptions): Promise<{ content: Buffer; res: OssResponseInfo }>;
  getStream(name: string, options?: CallOptions): Promise<{ stream: Readable; res: OssResponseInfo }>;
  put(name: string, content: Buffer, options?: CallOptions & { mime?: string }): Promise<{ res: OssResponseInfo }>;
  copy(name: string, sourceName: string, options?: CallOptions): Promise<{ res: OssResponseInfo }>;
  delete(name: string, options?: CallOptions): Promise<{ res: OssResponseInfo }>;
  deleteMulti(names: string[], options?: CallOptions & { quiet?: boolean }): Promise<{ res: OssResponseInfo }>;
  listV2(query: Record<string, string | number>, options?: CallOptions): Promise<ListV2Page>;
  initMultipartUpload(name: string, options?: CallOptions): Promise<{ uploadId: string }>;
  uploadPart(name: string, uploadId: string, partNo: number, file: Buffer, start: number, end: number, options?: CallOptions): Promise<{ etag: string }>;
  uploadPartCopy(
    name: string,
    uploadId: string,
    partNo: number,
    range: string,
    sourceData: { sourceKey: string; sourceBucketName: string },
    options?: CallOptions,
  ): Promise<{ etag: string }>;
  completeMultipartUpload(
    name: string,
    uploadId: string,
    parts: Array<{ number: number; etag: string }>,
    options?: CallOptions,
  ): Promise<{ res: OssResponseInfo }>;
  abortMultipartUpload(name: string, uploadId: string, options?: CallOptions): Promise<{ res: OssResponseInfo }>;
  signatureUrl(name: string, options: { method: string; expires: number }): string;
  /** Not used by the driver: for tests and tools that set up a bucket. */
  putBucket(name: string, options?: CallOptions): Promise<unknown>;
  signatureUrlV4(method: string, expires: number, request: undefined, objectName: string): Promise<string>;
}

export interface OssClientSettings {
  accessKeyId: string;
  accessKeySecret: string;
  stsToken?: string;
  refreshSTSToken?: () => Promise<OssCredentials>;
  region: string;
  endpoint?: string;
  internal: boolean;
  secure: boolean;
  bucket: string;
  authorizationV4: boolean;
  pathStyle: boolean;
  cname: boolean;
  timeoutMs: number;
}

// urllib is ali-oss's own HTTP client; resolved from ali-oss so it is the very copy ali-oss uses.
interface Urllib {
  requestWithCallback(
    url: string,
    args: Record<string, unknown>,
    callback: (err: Error | null, data: unknown, res: { statusCode: number; headers: Record<string, string> }) => void,
  ): { destroy(err?: Error): void; abort(): void } | undefined;
}
const urllib = createRequire(require.resolve('ali-oss'))('urllib') as Urllib;

// Keep-alive sockets shared by every driver in the process, as ali-oss's own global agents are.
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

/** ali-oss's `urllib` option: urllib itself, plus keep-alive agents and the abort hook of `ctx`. */
const abortableTransport = {
  request(url: string, args: Record<string, unknown>): Promise<unknown> {
    const hook = (args.ctx as RequestContext | undefined)?.onAbort;
    return new Promise((resolve, reject) => {
      let unhook: () => void = () => undefined;
      let settled = false;
      const request = urllib.requestWithCallback(url, { ...args, agent: httpAgent, httpsAgent }, (err, data, res) => {
        if (settled) return;
        settled = true;
        unhook();
        if (err) reject(asNetworkFailure(err));
        else if (isCutShort(args, data, res)) reject(cutShortError(data as Buffer, res));
        else resolve({ data, status: res.statusCode, headers: res.headers, res });
      });
      if (hook && request && !settled) {
        unhook = hook(() => {
          if (settled) return;
          settled = true;
          reject(abortError());
          // urllib must see exactly one failure or it warns about a double callback: a streamed
          // body's pump reports the premature close (abort() adds no error event, destroy() would
          // add "socket hang up"); a Buffer body is only watched through the error event.
          if (args.stream) request.abort();
          else request.destroy(abortError());
        });
      }
    });
  },
};

/**
 * urllib hands a body over as complete when the connection closes before Content-Length bytes
 * came: ali-oss then parsed half an XML answer and failed the call with a parse error that is not
 * retried. A buffered body shorter than its declared length is a network failure instead.
 */
function isCutShort(args: Record<string, unknown>, data: unknown, res: { statusCode: number; headers: Record<string, string> }): boolean {
  if (args.stream || args.customResponse || !Buffer.isBuffer(data)) return false;
  if (String(args.method ?? 'GET').toUpperCase() === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) return false;
  // Node's own verdict, when urllib passes the IncomingMessage on (chunked bodies have no length to compare).
  if ((res as { complete?: unknown }).complete === false) return true;
  const declared = Number(res.headers['content-length'] ?? NaN);
  return Number.isSafeInteger(declared) && data.length < declared;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED']);

/**
 * A connection lost mid-body: urllib's error keeps the answer's status (200) and the partial body,
 * and ali-oss then parses that half XML answer and reports the parse error, not the network
 * failure. Without them ali-oss reports it as what it is (status -1), which the driver retries.
 */
function asNetworkFailure(err: Error): Error {
  const failure = err as Error & { code?: unknown; data?: unknown; status?: unknown };
  if (typeof failure.code === 'string' && NETWORK_CODES.has(failure.code)) {
    failure.data = undefined;
    failure.status = -1;
  }
  return failure;
}

/** As urllib reports a lost connection: ali-oss gives it status -1, which the driver retries. */
function cutShortError(data: Buffer, res: { headers: Record<string, string> }): Error {
  const err = new Error(`the connection closed after ${data.length} of ${res.headers['content-length'] ?? 'the'} body bytes`);
  err.name = 'ResponseError';
  return Object.assign(err, { status: -1, code: 'ECONNRESET' });
}

function abortError(): Error {
  const err = new Error('request aborted');
  err.name = 'AbortError';
  return err;
}

/** A `ctx` whose hook fires on `signal` (none without a signal). */
export function requestContext(signal: AbortSignal | undefined): RequestContext {
  if (!signal) return {};
  return {
    onAbort(cancel) {
      if (signal.aborted) {
        cancel();
        return () => undefined;
      }
      signal.addEventListener('abort', cancel, { once: true });
      return () => signal.removeEventListener('abort', cancel);
    },
  };
}

export function buildOssClient(settings: OssClientSettings): OssClient {
  const options: Record<string, unknown> = {
    accessKeyId: settings.accessKeyId,
    accessKeySecret: settings.accessKeySecret,
    region: settings.region,
    internal: settings.internal,
    secure: settings.secure,
    bucket: settings.bucket,
    authorizationV4: settings.authorizationV4,
    sldEnable: settings.pathStyle,
    cname: settings.cname,
    timeout: settings.timeoutMs,
    // The driver retries itself (ali-oss's retryMax would repeat non-idempotent requests too).
    retryMax: 0,
    urllib: abortableTransport,
  };
  if (settings.endpoint) options.endpoint = settings.endpoint;
  if (settings.stsToken) {
    options.stsToken = settings.stsToken;
    if (settings.refreshSTSToken) options.refreshSTSToken = settings.refreshSTSToken;
    // Without a refresh interval ali-oss warns on the console at every construction; the default is 5 min.
    options.refreshSTSTokenInterval = 5 * 60_000;
  }
  return new OSS(options as unknown as OSS.Options) as unknown as OssClient;
}
