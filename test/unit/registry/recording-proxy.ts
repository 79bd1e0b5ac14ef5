/**
 * A recording HTTP pass-through for registry tests: it listens on 127.0.0.1 and forwards every
 * request to one backend (the local Swift, Azurite, the OSS server) unchanged — method, target and
 * raw headers (Host included, so signatures made for the pass-through's address still verify) —
 * streaming both bodies, and records per request who asked (its headers) and how many response body
 * bytes the backend sent through it. A driver pointed at it hands out redirect URLs that lead here,
 * so a test can prove from the backend's side that a client fetched a blob straight from storage.
 *
 * Byte counts are taken before a chunk is passed on, so once the client has read a whole body the
 * record already holds every byte of it: assertions made after the client finished need no waiting.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that went through the pass-through. */
export interface ProxiedRequest {
  method: string;
  /** The request target as sent: path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The backend's status (0 until its answer arrived). */
  status: number;
  /** Response body bytes forwarded so far. */
  responseBytes: number;
  /** Request body bytes forwarded. */
  requestBytes: number;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Everything recorded so far, in arrival order. */
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

/** Headers that concern only this hop (the pass-through answers `Expect: 100-continue` itself). */
const HOP_HEADERS = new Set(['expect']);

/** Starts a pass-through to `target` (`http://127.0.0.1:PORT`, a path is ignored). */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const backend = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const requests: ProxiedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const record: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, status: 0, responseBytes: 0, requestBytes: 0 };
    requests.push(record);
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (!HOP_HEADERS.has(req.rawHeaders[i]!.toLowerCase())) headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    }
    const upstream = httpRequest(
      { host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers, agent, setHost: false },
      (answer) => {
        record.status = answer.statusCode ?? 0;
        res.writeHead(record.status, answer.statusMessage, answer.rawHeaders);
        answer.on('data', (chunk: Buffer) => {
          record.responseBytes += chunk.length;
          if (!res.write(chunk)) {
            answer.pause();
            res.once('drain', () => answer.resume());
          }
        });
        answer.on('end', () => res.end());
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.on('data', (chunk: Buffer) => {
      record.requestBytes += chunk.length;
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    });
    req.on('end', () => upstream.end());
    req.on('error', () => upstream.destroy());
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/** Query parameters that carry a URL signature (S3 presigned, Azure SAS, Swift TempURL, OSS V1 and V4). */
const URL_SIGNATURES = ['X-Amz-Signature', 'sig', 'temp_url_sig', 'Signature', 'x-oss-signature'];

/**
 * A GET that came with a signed URL and no credentials of its own (no Authorization, no Swift
 * token): a client that followed a redirect, not the driver.
 */
export function isSignedUrlGet(request: ProxiedRequest): boolean {
  if (request.method !== 'GET' || request.headers.authorization !== undefined || request.headers['x-auth-token'] !== undefined) return false;
  const query = new URLSearchParams(request.url.split('?')[1] ?? '');
  return URL_SIGNATURES.some((name) => query.has(name));
}

/** The digest hex of a blob data object (`.../blobs/sha256/ab/<hex>/data`) the request targets, if any. */
export function blobDataHex(request: ProxiedRequest): string | undefined {
  const path = decodeURIComponent(request.url.split('?')[0]!);
  return /\/blobs\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\/data$/.exec(path)?.[1];
}
