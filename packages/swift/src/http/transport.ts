/**
 * The HTTP side of the driver: one undici Agent (keep-alive sockets, optional TLS leniency) and
 * request(), which retries what is safe to retry and leaves every other status to the caller.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { isAborted } from '@stowage/core';

export type HttpBody = Buffer | string;

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: HttpBody;
  signal?: AbortSignal;
}

export type HttpResponse = Dispatcher.ResponseData;

/** Answers worth asking again: the proxy or a backend was busy, restarting or timed out. */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** The longest wait for a connection, when the silence allowed (silenceTimeoutMs) is longer. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * An agent on which a connection may stay silent for `silenceTimeoutMs` (the driver's option,
 * default 120 s): waiting for an answer's headers, and between two pieces of its body; the wait for
 * the connection itself is capped at 10 s. undici's defaults (10 s, 300 s, 300 s) let one dead
 * connection stall a call for five minutes before the retry.
 */
export function newAgent(insecureSkipVerify: boolean, silenceTimeoutMs: number): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: silenceTimeoutMs,
    bodyTimeout: silenceTimeoutMs,
    connect: { rejectUnauthorized: !insecureSkipVerify, timeout: Math.min(CONNECT_TIMEOUT_MS, silenceTimeoutMs) },
  });
}

export const isRetryableStatus = (status: number): boolean => RETRY_STATUSES.has(status);

/** Network failures (reset, refused, closed socket), never an abort. */
export function isRetryableNetworkError(err: unknown): boolean {
  if (isAborted(err)) return false;
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && (code.startsWith('UND_ERR_') || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code))
  );
}

export async function send(agent: Agent, req: HttpRequest): Promise<HttpResponse> {
  return request(req.url, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    signal: req.signal,
    dispatcher: agent,
  });
}

/** Reads (at most 64 KiB of) a response body as text; for error messages and small JSON answers. */
export async function bodyText(response: HttpResponse, limit = 64 * 1024): Promise<string> {
  let text = '';
  for await (const chunk of response.body) {
    if (text.length < limit) text += (chunk as Buffer).toString('utf8');
  }
  return text.slice(0, limit);
}

/**
 * The response with its body read into memory and served from there (the same body methods and
 * stream); a connection lost mid-body rejects here, where the caller can still retry.
 */
export async function buffered(response: HttpResponse): Promise<HttpResponse> {
  const bytes = Buffer.from(await response.body.arrayBuffer());
  const stream = Readable.from(bytes.length > 0 ? [bytes] : [], { objectMode: false });
  const body = Object.assign(stream, {
    arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
    text: async () => bytes.toString('utf8'),
    json: async (): Promise<unknown> => JSON.parse(bytes.toString('utf8')),
    dump: async () => {
      stream.destroy();
    },
  });
  return { ...response, body: body as unknown as HttpResponse['body'] };
}

/** Drops a body we do not need, returning its socket to the pool. */
export async function discard(response: HttpResponse): Promise<void> {
  await response.body.dump().catch(() => undefined);
}

/** Exponential backoff with jitter (100 ms, 200 ms, 400 ms, ... capped at 2 s), cut short by the signal. */
export function backoff(attempt: number, signal?: AbortSignal): Promise<void> {
  const ms = Math.min(2000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
  return sleep(ms, undefined, { signal });
}

export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
