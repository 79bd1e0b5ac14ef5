/**
 * A fault-injecting HTTP proxy for tests: it sits between a cloud driver and its local server
 * (driver endpoint → proxy → server) and, for a seeded random share of the requests, misbehaves the
 * way networks and overloaded services do:
 *
 * - `status-503`, `status-500`, `status-429`: answers at once with that status, without forwarding;
 * - `reset-before`: resets the connection (TCP RST) before forwarding anything;
 * - `reset-after`: forwards the request, lets the server answer, then resets the client connection
 *   instead of passing the answer on (the request took effect; the response is lost);
 * - `truncate`: passes the headers and half the body on, then resets the connection (a response
 *   without a body — HEAD, 204, an empty body — is lost whole instead, counted as `reset-after`);
 * - `delay`: waits `delayMs` (2 s) before forwarding;
 * - `stall`: takes the request in and then sends nothing, not even a reset, until the client gives
 *   up or the proxy closes (a silent peer: the request is not forwarded);
 * - `stall-body`: forwards the request, passes the headers and half the body on, then goes silent
 *   the same way (a response without a body to cut is withheld whole once the server answered).
 *
 * The stalls test a client's silence timeouts; they are not in FAULT_KINDS (a stalled request costs
 * the client its whole timeout), so only a proxy whose `kinds` or `decide` names them injects them.
 *
 * The same seed, rate and request sequence give the same faults, so a failure can be replayed:
 * `STOWAGE_FAULT_SEED` and `STOWAGE_FAULT_RATE` override the defaults of faultSettingsFromEnv().
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy can do to a request. */
export type FaultKind = 'status-503' | 'status-500' | 'status-429' | 'reset-before' | 'reset-after' | 'truncate' | 'delay' | 'stall' | 'stall-body';

/** The default mix: every kind but the stalls, which hold a request for the client's whole timeout. */
export const FAULT_KINDS: readonly FaultKind[] = ['status-503', 'status-500', 'status-429', 'reset-before', 'reset-after', 'truncate', 'delay'];

const ALL_KINDS: readonly FaultKind[] = [...FAULT_KINDS, 'stall', 'stall-body'];

export interface FaultProxyOptions {
  /** Where requests go: `http://127.0.0.1:PORT` (a path is ignored). */
  target: string;
  /** The share of requests that get a fault, 0..1; default 0.05. */
  rate?: number;
  /** Seed of the pseudo-random sequence (a 32-bit integer); default 1. */
  seed?: number;
  /** The kinds to choose from, evenly; default FAULT_KINDS (no stalls). */
  kinds?: readonly FaultKind[];
  /** How long a `delay` fault waits before forwarding; default 2000 ms. */
  delayMs?: number;
  /** Requests never faulted (nor counted in the draw), e.g. signed URLs a test fetches itself. */
  exempt?: (request: { method: string; url: string }) => boolean;
  /** Decides each request's fault instead of the seeded draw (unit tests); undefined means none. */
  decide?: (request: { method: string; url: string; index: number }) => FaultKind | undefined;
}

/** What the proxy has done so far. @public (the type of FaultProxy.counters) */
export interface FaultCounters {
  /** Requests received. */
  requests: number;
  /** Requests passed on to the target (faulted ones after forwarding included). */
  forwarded: number;
  /** Faults injected, by kind. */
  faults: Record<FaultKind, number>;
  /** The last faults (at most 200): `#index kind METHOD url`, for diagnosing a failure. */
  recent: string[];
}

export interface FaultProxy {
  /** The proxy's own address, `http://127.0.0.1:PORT`: use it as the driver's endpoint. */
  readonly url: string;
  readonly port: number;
  readonly seed: number;
  readonly rate: number;
  readonly counters: FaultCounters;
  /** Faults injected, all kinds together. */
  totalFaults(): number;
  /** Turns faults on or off (off: a plain proxy), e.g. for setup and a final check. */
  setEnabled(enabled: boolean): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** The settings the environment asks for: STOWAGE_FAULT_SEED (default: random, printed by the caller) and STOWAGE_FAULT_RATE (default 0.05). */
export function faultSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): { seed: number; rate: number } {
  const seedText = env.STOWAGE_FAULT_SEED;
  const rateText = env.STOWAGE_FAULT_RATE;
  const seed = seedText ? Number(seedText) : Math.floor(Math.random() * 0x7fffffff);
  const rate = rateText ? Number(rateText) : 0.05;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`STOWAGE_FAULT_SEED must be an integer, got ${JSON.stringify(seedText)}`);
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`STOWAGE_FAULT_RATE must be a number from 0 to 1, got ${JSON.stringify(rateText)}`);
  return { seed, rate };
}

/** mulberry32: a small, fast PRNG whose whole state is one 32-bit number, so a seed replays a run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Connection-level headers a proxy must not pass on (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const STATUS_FAULTS: Partial<Record<FaultKind, { status: number; code: string }>> = {
  'status-503': { status: 503, code: 'ServiceUnavailable' },
  'status-500': { status: 500, code: 'InternalError' },
  'status-429': { status: 429, code: 'SlowDown' },
};

function expectsContinue(req: http.IncomingMessage): boolean {
  return /100-continue/i.test(req.headers.expect ?? '');
}

/** An RST rather than a FIN, as a crashed peer or a middlebox would send. */
function reset(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

/** Starts the proxy on 127.0.0.1 and a free port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const rate = options.rate ?? 0.05;
  const seed = options.seed ?? 1;
  const kinds = options.kinds ?? FAULT_KINDS;
  const delayMs = options.delayMs ?? 2000;
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`rate must be from 0 to 1, got ${rate}`);
  if (kinds.length === 0) throw new RangeError('kinds must not be empty');
  const random = prng(seed);
  const counters: FaultCounters = {
    requests: 0,
    forwarded: 0,
    faults: Object.fromEntries(ALL_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    recent: [],
  };
  let enabled = true;
  // Keep-alive to the target, so that the proxy adds no connection setup of its own.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const sockets = new Set<Socket>();

  function count(kind: FaultKind, index: number, req: http.IncomingMessage): void {
    counters.faults[kind]++;
    counters.recent.push(`#${index} ${kind} ${req.method} ${req.url}`);
    if (counters.recent.length > 200) counters.recent.shift();
  }

  function choose(req: http.IncomingMessage, index: number): FaultKind | undefined {
    if (!enabled || options.exempt?.({ method: req.method ?? 'GET', url: req.url ?? '/' })) return undefined;
    if (options.decide) return options.decide({ method: req.method ?? 'GET', url: req.url ?? '/', index });
    // Two draws per request whatever the outcome, so that one request's fault does not shift the next's.
    const hit = random() < rate;
    const pick = kinds[Math.floor(random() * kinds.length)]!;
    return hit ? pick : undefined;
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, fault: FaultKind | undefined, index: number): void {
    counters.forwarded++;
    if (expectsContinue(req)) res.writeContinue();
    const upstream = http.request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      // The Host header goes on unchanged: signatures (S3 SigV4, OSS V4) cover it.
      headers: endToEnd(req.headers),
      agent,
    });
    // A stall-body fault drops the upstream exchange itself: that must not turn the silence into a reset.
    let stalled = false;
    upstream.on('error', () => {
      if (!stalled) reset(req.socket);
    });
    req.on('error', () => upstream.destroy());
    // The client went away mid-request: drop the upstream exchange too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
    upstream.on('response', (answer) => {
      const hasBody = req.method !== 'HEAD' && answer.statusCode !== 204 && answer.statusCode !== 304;
      const length = Number(answer.headers['content-length'] ?? NaN);
      const nothingToCut = !hasBody || length < 2;
      if (fault === 'reset-after' || (fault === 'truncate' && nothingToCut)) {
        count('reset-after', index, req);
        // Let the server finish its answer (it has acted on the request), then lose it.
        answer.resume();
        answer.on('end', () => reset(req.socket));
        answer.on('error', () => reset(req.socket));
        return;
      }
      if (fault === 'stall-body' && nothingToCut) {
        count('stall-body', index, req);
        // The server has acted; its answer is withheld and the connection stays open, silent.
        answer.resume();
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      if (fault !== 'truncate' && fault !== 'stall-body') {
        answer.pipe(res);
        answer.on('error', () => reset(req.socket));
        return;
      }
      count(fault, index, req);
      // Half of a declared length, or of the first chunk when the body is chunked.
      let budget = Number.isFinite(length) ? Math.floor(length / 2) : -1;
      answer.on('data', (chunk: Buffer) => {
        if (budget < 0) budget = Math.floor(chunk.length / 2);
        const part = chunk.subarray(0, budget);
        budget -= part.length;
        if (part.length > 0) res.write(part);
        if (budget === 0) {
          stalled = fault === 'stall-body';
          answer.destroy();
          // truncate: flush what was written, then cut the connection mid-body. stall-body: send
          // nothing more and keep the connection open until the client gives up.
          if (fault === 'truncate') res.write('', () => reset(req.socket));
          budget = -2;
        }
      });
    });
  }

  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    const index = counters.requests++;
    const fault = choose(req, index);
    const status = fault ? STATUS_FAULTS[fault] : undefined;
    if (fault && status) {
      count(fault, index, req);
      req.resume();
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${status.code}</Code><Message>injected by the fault proxy</Message></Error>`;
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) };
      // The body the client held back will not come: this connection cannot carry another request.
      if (expectsContinue(req)) headers.connection = 'close';
      res.writeHead(status.status, headers);
      res.end(body);
      return;
    }
    if (fault === 'reset-before') {
      count(fault, index, req);
      reset(req.socket);
      return;
    }
    if (fault === 'stall') {
      count(fault, index, req);
      // Take the body in (a client's upload completes) and never answer; no 100 Continue either.
      req.resume();
      return;
    }
    if (fault === 'delay') {
      count(fault, index, req);
      const timer = setTimeout(() => forward(req, res, undefined, index), delayMs);
      req.socket.once('close', () => clearTimeout(timer));
      return;
    }
    forward(req, res, fault, index);
  });
  // A client that sent `Expect: 100-continue` gets the final answer at once when it is a status
  // fault (as a real server refusing the body would), else the 100 when the request is forwarded.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => server.emit('request', req, res));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket: Socket) => socket.destroy());

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolvePromise());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seed,
    rate,
    counters,
    totalFaults: () => Object.values(counters.faults).reduce((a, b) => a + b, 0),
    setEnabled(value: boolean) {
      enabled = value;
    },
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        for (const socket of sockets) socket.destroy();
        agent.destroy();
      }),
  };
}
