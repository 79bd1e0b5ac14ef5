/**
 * Requests to one Swift account: the token goes on every request, a 401 re-authenticates once,
 * network errors and busy answers are retried with backoff (every request here has a Buffer or
 * no body, so resending is safe), and names are escaped segment by segment. Small answers
 * (listings, JSON, markers, anything up to BUFFERED_BODY_LIMIT) are read inside the retry loop,
 * so that a connection lost mid-body is retried like one lost before the headers.
 */
import type { Agent } from 'undici';
import type { AuthSession } from '../auth/session';
import { SwiftHttpError } from './errors';
import { backoff, bodyText, buffered, discard, isRetryableNetworkError, isRetryableStatus, send, type HttpBody, type HttpResponse } from './transport';

/** Answers up to this size (or of unknown size, from the account or a container) are read whole before request() returns. */
const BUFFERED_BODY_LIMIT = 1024 * 1024;

/** Object content larger than the limit is left streaming to the caller (a reader); everything else is small. */
function readsWhole(req: SwiftRequest, response: HttpResponse): boolean {
  if (req.method === 'HEAD' || response.statusCode === 204) return false;
  const length = Number(response.headers['content-length'] ?? NaN);
  if (Number.isFinite(length)) return length <= BUFFERED_BODY_LIMIT;
  return req.object === undefined;
}

export interface SwiftRequest {
  method: string;
  /** Container, or undefined for the account itself (bulk delete, account metadata). */
  container?: string;
  /** Object name inside the container (not escaped). */
  object?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: HttpBody;
  signal?: AbortSignal;
  /** Statuses handed back to the caller (with the body unread); anything else throws SwiftHttpError. */
  ok: readonly number[];
}

/** `a b/c?d` → `a%20b/c%3Fd`: each segment escaped, the slashes kept. */
export function escapeName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

function queryString(query: Record<string, string> | undefined): string {
  if (!query) return '';
  const parts = Object.entries(query).map(([key, value]) =>
    value === '' ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(value)}`,
  );
  return parts.length ? `?${parts.join('&')}` : '';
}

export class SwiftClient {
  private infoCache: Promise<SwiftInfo> | undefined;

  constructor(
    readonly session: AuthSession,
    readonly agent: Agent,
    readonly maxAttempts: number,
  ) {}

  /** The storage URL of the current token (authenticating if needed). */
  async storageUrl(signal?: AbortSignal): Promise<string> {
    return (await this.session.credentials(signal)).storageUrl;
  }

  async request(req: SwiftRequest): Promise<HttpResponse> {
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      const { token, storageUrl } = await this.session.credentials(req.signal);
      let path = '';
      if (req.container !== undefined) path = `/${encodeURIComponent(req.container)}${req.object !== undefined ? `/${escapeName(req.object)}` : ''}`;
      let response: HttpResponse;
      try {
        response = await send(this.agent, {
          method: req.method,
          url: `${storageUrl}${path}${queryString(req.query)}`,
          headers: { ...req.headers, 'x-auth-token': token },
          body: req.body,
          signal: req.signal,
        });
      } catch (err) {
        if (attempt < this.maxAttempts && isRetryableNetworkError(err)) {
          await backoff(attempt, req.signal);
          continue;
        }
        throw err;
      }
      const status = response.statusCode;
      if (status === 401 && !reauthenticated) {
        // Expired or revoked token: authenticate again and resend, once.
        await discard(response);
        this.session.invalidate(token);
        reauthenticated = true;
        attempt--;
        continue;
      }
      if (req.ok.includes(status)) {
        if (!readsWhole(req, response)) return response;
        try {
          return await buffered(response);
        } catch (err) {
          if (attempt < this.maxAttempts && isRetryableNetworkError(err)) {
            await backoff(attempt, req.signal);
            continue;
          }
          throw err;
        }
      }
      if (isRetryableStatus(status) && attempt < this.maxAttempts) {
        await discard(response);
        await backoff(attempt, req.signal);
        continue;
      }
      throw new SwiftHttpError(status, req.method, describeTarget(req), await bodyText(response, 1024).catch(() => ''));
    }
  }

  /** The cluster's capabilities (GET /info, no token), fetched once; `{}` when the cluster hides them. */
  info(signal?: AbortSignal): Promise<SwiftInfo> {
    this.infoCache ??= this.fetchInfo(signal).catch((err: unknown) => {
      this.infoCache = undefined;
      throw err;
    });
    return this.infoCache;
  }

  private async fetchInfo(signal?: AbortSignal): Promise<SwiftInfo> {
    const url = infoUrl(await this.storageUrl(signal));
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await send(this.agent, { method: 'GET', url, headers: { accept: 'application/json' }, signal });
        if (response.statusCode === 200) return (await response.body.json()) as SwiftInfo;
        await discard(response);
        if (!isRetryableStatus(response.statusCode) || attempt >= this.maxAttempts) return {};
      } catch (err) {
        if (!isRetryableNetworkError(err) || attempt >= this.maxAttempts) throw err;
      }
      await backoff(attempt, signal);
    }
  }
}

/** /info sits beside the API version: https://host/v1/AUTH_x → https://host/info (path prefixes kept). */
function infoUrl(storageUrl: string): string {
  const url = new URL(storageUrl);
  const base = url.pathname.replace(/\/v1(\.0)?(\/.*)?$/, '');
  return `${url.origin}${base}/info`;
}

function describeTarget(req: SwiftRequest): string {
  if (req.container === undefined) return 'account';
  return req.object === undefined ? req.container : `${req.container}/${req.object}`;
}

/** The parts of /info the driver uses. */
export interface SwiftInfo {
  swift?: { max_file_size?: number; container_listing_limit?: number; version?: string };
  slo?: { max_manifest_segments?: number; max_manifest_size?: number; min_segment_size?: number };
  bulk_delete?: { max_deletes_per_request?: number; max_failed_deletes?: number };
  tempurl?: { methods?: string[]; allowed_digests?: string[] };
}
