/**
 * The HTTP(S) server: authentication, routing, the spec's error bodies, one access-log line per
 * request (method, path, status, bytes, ms) and a graceful close that lets requests in flight finish.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { StorageDriver } from '@stowage/core';
import { HtpasswdAuth } from './auth';
import { BlobStore } from './blobs';
import type { RegistryConfig } from './config';
import type { RegistryParts } from './context';
import { applyStorageMiddleware, createStorageDriver } from './drivers';
import { ClientGoneError, RegistryError } from './errors';
import { listCatalog } from './handlers/listing';
import { sendError, sendJson } from './http';
import { createLogger, type Logger } from './logger';
import { startUploadPurging } from './maintenance';
import { ManifestStore } from './manifests';
import { route } from './router';
import { UploadStore } from './uploads';

/** How long close() waits for requests in flight before it cuts their connections. */
const CLOSE_GRACE_MS = 10_000;

/** Options of startRegistry. */
export interface StartOptions {
  /** Use this driver instead of building one from config.storage (tests share an in-memory one); config's middleware still wraps it. */
  driver?: StorageDriver;
  logger?: Logger;
}

/** A registry that is listening. */
export interface RunningRegistry {
  /** `http://HOST:PORT` (https with http.tls), HOST being 127.0.0.1 when it listens everywhere. */
  url: string;
  port: number;
  driver: StorageDriver;
  server: Server;
  /** Stops accepting connections, lets requests in flight finish (up to 10 s), stops purging. */
  close(): Promise<void>;
}

/** Builds the registry from `config` and starts listening on config.http. */
export async function startRegistry(config: RegistryConfig, options: StartOptions = {}): Promise<RunningRegistry> {
  const logger = options.logger ?? createLogger(config.log.level);
  const driver = await applyStorageMiddleware(options.driver ?? (await createStorageDriver(config.storage)), config.middleware.storage);
  const auth = config.auth ? await HtpasswdAuth.load(config.auth.htpasswd.path, config.auth.htpasswd.realm) : undefined;
  const blobs = new BlobStore(driver);
  const parts: RegistryParts = { config, driver, blobs, uploads: new UploadStore(driver, blobs), manifests: new ManifestStore(driver, blobs), logger };
  const listener = (req: IncomingMessage, res: ServerResponse) => void serve(req, res, parts, auth);
  const tls = config.http.tls;
  const server = tls ? createHttpsServer({ cert: await readFile(tls.certificate), key: await readFile(tls.key) }, listener) : createHttpServer(listener);
  server.requestTimeout = 0; // a large blob may take longer than Node's default 5 minutes to upload
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = config.http.host === undefined || address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  const stopPurging = startUploadPurging(driver, config.storage.uploadPurging, logger);
  logger.info('listening', { url, driver: driver.name });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      stopPurging();
      const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      server.close(() => {
        clearTimeout(force);
        logger.info('stopped');
        resolve();
      });
      server.closeIdleConnections();
    }));
  return { url, port: address.port, driver, server, close };
}

async function serve(req: IncomingMessage, res: ServerResponse, parts: RegistryParts, auth: HtpasswdAuth | undefined): Promise<void> {
  const started = performance.now();
  const method = req.method ?? 'GET';
  const rawUrl = req.url ?? '/';
  // Bytes on the wire, headers included: the socket's counters before and after this request.
  const socket = req.socket;
  const [readBefore, writtenBefore] = [socket.bytesRead, socket.bytesWritten];
  res.once('close', () => {
    parts.logger.info('request', {
      method,
      path: rawUrl.split('?')[0],
      status: res.headersSent ? res.statusCode : 'aborted',
      bytes: socket.bytesWritten - writtenBefore,
      received: socket.bytesRead - readBefore,
      ms: Math.round(performance.now() - started),
    });
  });
  try {
    const queryAt = rawUrl.indexOf('?');
    const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : rawUrl.slice(queryAt + 1));
    if (!path.startsWith('/v2/') && path !== '/v2') throw new RegistryError(404, 'UNSUPPORTED', 'not a registry API path');
    await auth?.check(req.headers.authorization);
    if (path === '/v2/' || path === '/v2') {
      if (method !== 'GET' && method !== 'HEAD')
        throw new RegistryError(405, 'UNSUPPORTED', `${method} is not supported here`, undefined, { Allow: 'GET, HEAD' });
      return sendJson(res, 200, {});
    }
    if (path === '/v2/_catalog') {
      if (method !== 'GET') throw new RegistryError(405, 'UNSUPPORTED', `${method} is not supported here`, undefined, { Allow: 'GET' });
      return await listCatalog({ req, res, query, parts });
    }
    const matched = route(method, path);
    if (!matched) throw new RegistryError(404, 'UNSUPPORTED', 'no such endpoint');
    await matched.handler({ req, res, query, name: matched.name, target: matched.target, parts });
  } catch (err) {
    answerFailure(req, res, parts.logger, err);
  }
}

function answerFailure(req: IncomingMessage, res: ServerResponse, logger: Logger, err: unknown): void {
  if (err instanceof ClientGoneError) {
    logger.warn('client disconnected mid-request; what arrived is stored', { method: req.method, path: req.url?.split('?')[0] });
    res.destroy();
    return;
  }
  if (res.headersSent) {
    // A stream failed after the status line went out: all that is left is to cut the response short.
    logger.warn('response cut short after it started', { path: req.url?.split('?')[0], error: (err as Error).message });
    res.destroy();
    return;
  }
  if (err instanceof RegistryError) {
    // The request body may not have been read; a client that keeps sending it should not hang.
    if (!req.complete) res.setHeader('Connection', 'close');
    sendError(res, err);
    return;
  }
  logger.error('request failed', { method: req.method, path: req.url?.split('?')[0], error: (err as Error)?.message ?? String(err) });
  if (!req.complete) res.setHeader('Connection', 'close');
  sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: 'internal server error' }] });
}
