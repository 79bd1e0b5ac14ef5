/** Shared setup for the local OSS server's tests: an in-process server per suite and real ali-oss clients. */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import OSS from 'ali-oss';
import { startOssServer, type OssServerHandle, type OssServerOptions } from '../../../services/oss/server';

export type SignatureVersion = 'v1' | 'v4';
export const SIGNATURE_VERSIONS: SignatureVersion[] = ['v1', 'v4'];

/** Starts a server before the suite and closes it after; `server()` is valid inside tests. */
export function useOssServer(options: OssServerOptions = {}): { server(): OssServerHandle } {
  let handle: OssServerHandle | undefined;
  before(async () => {
    handle = await startOssServer(options);
  });
  after(async () => {
    await handle?.close();
    handle = undefined;
  });
  return {
    server() {
      if (!handle) throw new Error('the OSS server is not running');
      return handle;
    },
  };
}

/** The parts of ali-oss 6.23 that @types/ali-oss does not declare. */
interface AliOssExtras {
  options: { bucket: string | null };
  getObjectMeta(name: string, options?: object): Promise<{ status: number; res: { headers: Record<string, string> } }>;
  listV2(query: Record<string, unknown> | null, options?: object): Promise<ListV2Result>;
  /** ali-oss's private request(): signs and sends arbitrary requests with the client's own signer. */
  request(params: Record<string, unknown>): Promise<{ status: number; data: Buffer; res: { headers: Record<string, string> } }>;
}

interface ListV2Result {
  objects: { name: string; size: number; etag: string; type: string; owner: unknown }[];
  prefixes: string[] | null;
  isTruncated: boolean;
  keyCount: number;
  nextContinuationToken: string | null;
}

export type Client = OSS & AliOssExtras;

export interface ClientOptions {
  version: SignatureVersion;
  bucket?: string;
  /** Override the credentials the server was started with. */
  accessKeyId?: string;
  accessKeySecret?: string;
  stsToken?: string;
  /** 'path' (localhost + sldEnable, the default) or 'virtual-hosted' (IP endpoint: bucket in the Host header). */
  style?: 'path' | 'virtual-hosted';
  region?: string;
}

/** A real ali-oss client for the server: V1 or V4 signatures, path-style or virtual-hosted. */
export function makeClient(server: OssServerHandle, options: ClientOptions): Client {
  const style = options.style ?? 'path';
  const config: Record<string, unknown> = {
    accessKeyId: options.accessKeyId ?? server.accessKeyId,
    accessKeySecret: options.accessKeySecret ?? server.accessKeySecret,
    region: options.region ?? server.region,
    authorizationV4: options.version === 'v4',
    endpoint: style === 'path' ? server.endpoint : `http://127.0.0.1:${server.port}`,
    ...(style === 'path' ? { sldEnable: true } : {}),
    ...(options.bucket ? { bucket: options.bucket } : {}),
    ...(options.stsToken ? { stsToken: options.stsToken, refreshSTSTokenInterval: 3_600_000 } : {}),
  };
  return new OSS(config as unknown as OSS.Options) as Client;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code?: string; status?: number; name?: string; message: string; requestId?: string; hostId?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; status?: number; message: string };
  }
  throw new Error('expected the request to fail, but it succeeded');
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A plain HTTP request to the server (no signing), for responses ali-oss would hide. */
export function rawRequest(
  port: number,
  options: { method?: string; path: string; headers?: OutgoingHttpHeaders | string[]; body?: Buffer | string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers ?? {},
        setHost: !Array.isArray(options.headers),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** GET/HEAD of a full URL (signed URLs). */
export function fetchUrl(url: string, method = 'GET', headers: OutgoingHttpHeaders = {}): Promise<RawResponse> {
  const parsed = new URL(url);
  return rawRequest(Number(parsed.port), { method, path: `${parsed.pathname}${parsed.search}`, headers: { host: parsed.host, ...headers } });
}

/** The text of the first <tag> in an XML body. */
export function xmlField(body: Buffer | string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body.toString());
  return match?.[1];
}

/** Distinct bucket names per test, valid for OSS. */
let bucketCounter = 0;
export function uniqueBucket(label: string): string {
  bucketCounter++;
  return `${label}-${process.pid}-${bucketCounter}`.toLowerCase();
}

/** Deterministic pseudo-random bytes. */
export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}
