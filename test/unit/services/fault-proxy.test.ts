import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAULT_KINDS, faultSettingsFromEnv, startFaultProxy, type FaultKind, type FaultProxy } from '../../services/fault-proxy';

/** The proxy's target: records each request's method and body, answers with a 64 KiB body (HEAD: headers only). */
interface Upstream {
  url: string;
  seen: Array<{ method: string; body: string }>;
  close(): Promise<void>;
}

const BODY = Buffer.alloc(64 * 1024, 'x');

async function startUpstream(): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-length': BODY.length, 'content-type': 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : BODY);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Outcome {
  status?: number;
  declaredLength?: number;
  received: number;
  error?: NodeJS.ErrnoException;
  /** The client's own silence timeout fired (giveUpMs): nothing had come for that long. */
  gaveUp: boolean;
  ms: number;
}

/**
 * One request through the proxy on a fresh connection; never rejects: a failure is in `error`.
 * With `giveUpMs`, the client gives up after that long without a byte from the proxy.
 */
function send(proxy: FaultProxy, method = 'GET', body?: string, giveUpMs?: number): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const outcome: Outcome = { received: 0, gaveUp: false, ms: 0 };
    let settled = false;
    const done = (error?: NodeJS.ErrnoException) => {
      if (error) outcome.error ??= error;
      if (settled) return;
      settled = true;
      outcome.ms = Date.now() - started;
      resolve(outcome);
    };
    const req = http.request(`${proxy.url}/object`, { method, agent: false, headers: body ? { 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      outcome.status = res.statusCode;
      outcome.declaredLength = Number(res.headers['content-length']);
      res.on('data', (chunk: Buffer) => (outcome.received += chunk.length));
      res.on('end', () => done());
      res.on('error', done);
      res.on('aborted', () => done(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    });
    if (giveUpMs !== undefined) {
      req.setTimeout(giveUpMs, () => {
        outcome.gaveUp = true;
        done();
        req.destroy();
      });
    }
    req.on('error', done);
    req.end(body);
  });
}

describe('services: fault proxy', function () {
  let upstream: Upstream;
  let proxy: FaultProxy | undefined;

  beforeEach(async () => {
    upstream = await startUpstream();
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    await upstream.close();
  });

  /** A proxy that gives `kind` to every request. */
  async function always(kind: FaultKind | undefined, delayMs?: number): Promise<FaultProxy> {
    proxy = await startFaultProxy({ target: upstream.url, decide: () => kind, ...(delayMs === undefined ? {} : { delayMs }) });
    return proxy;
  }

  it('without a fault it forwards the request and passes the whole answer on', async () => {
    const p = await always(undefined);
    const outcome = await send(p, 'PUT', 'hello');
    assert.equal(outcome.status, 200);
    assert.equal(outcome.received, BODY.length);
    assert.equal(outcome.error, undefined);
    assert.deepEqual(upstream.seen, [{ method: 'PUT', body: 'hello' }]);
    assert.equal(p.counters.forwarded, 1);
    assert.equal(p.totalFaults(), 0);
  });

  for (const [kind, status] of [
    ['status-503', 503],
    ['status-500', 500],
    ['status-429', 429],
  ] as const) {
    it(`${kind} answers ${status} without forwarding the request`, async () => {
      const p = await always(kind);
      const outcome = await send(p, 'PUT', 'hello');
      assert.equal(outcome.status, status);
      assert.equal(outcome.error, undefined);
      assert.deepEqual(upstream.seen, []);
      assert.equal(p.counters.faults[kind], 1);
      assert.equal(p.counters.forwarded, 0);
    });
  }

  it('reset-before resets the connection and the server never sees the request', async () => {
    const p = await always('reset-before');
    const outcome = await send(p, 'PUT', 'hello');
    assert.equal(outcome.status, undefined);
    assert.equal(outcome.error?.code, 'ECONNRESET');
    // Give a request that did slip through the time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(upstream.seen, []);
    assert.equal(p.counters.faults['reset-before'], 1);
  });

  it('reset-after delivers the request to the server, then resets the connection instead of answering', async () => {
    const p = await always('reset-after');
    const outcome = await send(p, 'PUT', 'hello');
    assert.equal(outcome.status, undefined);
    assert.equal(outcome.error?.code, 'ECONNRESET');
    assert.deepEqual(upstream.seen, [{ method: 'PUT', body: 'hello' }]);
    assert.equal(p.counters.faults['reset-after'], 1);
  });

  it('truncate passes the headers and half the body on, then resets the connection', async () => {
    const p = await always('truncate');
    const outcome = await send(p);
    assert.equal(outcome.status, 200);
    assert.equal(outcome.declaredLength, BODY.length);
    assert.equal(outcome.received, BODY.length / 2);
    assert.equal(outcome.error?.code, 'ECONNRESET');
    assert.equal(p.counters.faults.truncate, 1);
  });

  it('truncate on an answer without a body (HEAD) loses the answer whole and counts as reset-after', async () => {
    const p = await always('truncate');
    const outcome = await send(p, 'HEAD');
    assert.equal(outcome.status, undefined);
    assert.equal(outcome.error?.code, 'ECONNRESET');
    assert.equal(upstream.seen.length, 1);
    assert.deepEqual({ truncate: p.counters.faults.truncate, resetAfter: p.counters.faults['reset-after'] }, { truncate: 0, resetAfter: 1 });
  });

  it('delay forwards the request after delayMs and passes the whole answer on', async () => {
    const p = await always('delay', 300);
    const outcome = await send(p);
    assert.equal(outcome.status, 200);
    assert.equal(outcome.received, BODY.length);
    assert.ok(outcome.ms >= 290, `answered after ${outcome.ms} ms`);
    assert.equal(upstream.seen.length, 1);
    assert.equal(p.counters.faults.delay, 1);
  });

  it('stall takes the request in and then sends nothing, not even a reset, until the client gives up; nothing is forwarded', async () => {
    const p = await always('stall');
    const outcome = await send(p, 'PUT', 'hello', 500);
    assert.equal(outcome.gaveUp, true, 'the client gave up after 500 ms of silence');
    assert.equal(outcome.status, undefined);
    assert.equal(outcome.error, undefined, 'no reset or close from the proxy');
    assert.ok(outcome.ms >= 490, `gave up after ${outcome.ms} ms`);
    assert.deepEqual(upstream.seen, []);
    assert.equal(p.counters.faults.stall, 1);
    assert.equal(p.counters.forwarded, 0);
  });

  it('stall-body passes the headers and half the body on, then goes silent until the client gives up', async () => {
    const p = await always('stall-body');
    const outcome = await send(p, 'GET', undefined, 500);
    assert.equal(outcome.status, 200);
    assert.equal(outcome.declaredLength, BODY.length);
    assert.equal(outcome.received, BODY.length / 2);
    assert.equal(outcome.gaveUp, true);
    assert.equal(outcome.error, undefined, 'no reset or close from the proxy');
    assert.equal(upstream.seen.length, 1, 'the server got the request');
    assert.equal(p.counters.faults['stall-body'], 1);
  });

  it('stall-body on an answer without a body (HEAD) withholds it whole once the server has answered', async () => {
    const p = await always('stall-body');
    const outcome = await send(p, 'HEAD', undefined, 500);
    assert.equal(outcome.status, undefined);
    assert.equal(outcome.gaveUp, true);
    assert.equal(outcome.error, undefined);
    assert.equal(upstream.seen.length, 1);
    assert.equal(p.counters.faults['stall-body'], 1);
  });

  it('closing the proxy ends a stalled connection, and a stalled request does not hold up the next one', async () => {
    let first = true;
    proxy = await startFaultProxy({
      target: upstream.url,
      decide: () => {
        const kind = first ? ('stall' as const) : undefined;
        first = false;
        return kind;
      },
    });
    const stalled = send(proxy, 'GET');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await send(proxy, 'GET', undefined, 5000);
    assert.equal(next.status, 200);
    assert.equal(next.received, BODY.length);
    await proxy.close();
    proxy = undefined;
    const outcome = await stalled;
    assert.equal(outcome.status, undefined);
    assert.equal(outcome.gaveUp, false);
    assert.ok(outcome.error, 'the client saw the connection end');
  });

  it('the stalls are not in the default mix: only a proxy whose kinds name them injects them', () => {
    assert.ok(!FAULT_KINDS.includes('stall') && !FAULT_KINDS.includes('stall-body'));
  });

  it('the seeded draw faults about `rate` of the requests, the same ones for the same seed, none at rate 0', async () => {
    const faultedIndexes = async (seed: number, rate: number): Promise<number[]> => {
      const p = await startFaultProxy({ target: upstream.url, seed, rate, kinds: ['status-503'] });
      const statuses: number[] = [];
      try {
        for (let i = 0; i < 200; i++) statuses.push((await send(p)).status ?? 0);
      } finally {
        await p.close();
      }
      assert.equal(p.counters.requests, 200);
      assert.equal(p.counters.faults['status-503'] + p.counters.forwarded, 200);
      return statuses.flatMap((status, i) => (status === 503 ? [i] : []));
    };
    const first = await faultedIndexes(42, 0.25);
    assert.deepEqual(await faultedIndexes(42, 0.25), first);
    assert.notDeepEqual(await faultedIndexes(43, 0.25), first);
    assert.ok(first.length >= 30 && first.length <= 70, `${first.length} of 200 faulted at rate 0.25`);
    assert.deepEqual(await faultedIndexes(42, 0), []);
  });

  it('STOWAGE_FAULT_SEED and STOWAGE_FAULT_RATE are read and checked', () => {
    assert.deepEqual(faultSettingsFromEnv({ STOWAGE_FAULT_SEED: '7', STOWAGE_FAULT_RATE: '0.1' }), { seed: 7, rate: 0.1 });
    assert.equal(faultSettingsFromEnv({}).rate, 0.05);
    assert.throws(() => faultSettingsFromEnv({ STOWAGE_FAULT_RATE: '2' }), RangeError);
    assert.throws(() => faultSettingsFromEnv({ STOWAGE_FAULT_SEED: 'x' }), RangeError);
  });
});
