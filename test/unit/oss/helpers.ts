import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OssDriver, type OssDriverOptions } from '@stowage/oss';
import { ossDriverInternals } from '@stowage/oss/internal';
import { startOssServer, type OssServerHandle, type OssServerOptions } from '../../services/oss/server';

export interface LocalOss {
  readonly server: OssServerHandle;
  /** The options of a driver on a fresh bucket of the local server (the bucket is created). */
  options(overrides?: Partial<OssDriverOptions>): Promise<OssDriverOptions>;
  /** A driver on a fresh bucket of the local server. */
  driver(overrides?: Partial<OssDriverOptions>): Promise<OssDriver>;
  /** The keys the server holds in `bucket`, sorted. */
  keys(bucket: string): string[];
}

/** Starts the local OSS server before the suite's tests and stops it after them. */
export function useLocalOss(serverOptions: OssServerOptions = {}): LocalOss {
  let server: OssServerHandle | undefined;
  before(async () => {
    server = await startOssServer(serverOptions);
  });
  after(async () => {
    await server?.close();
    server = undefined;
  });
  const running = (): OssServerHandle => {
    if (!server) throw new Error('the local OSS server is not running (useLocalOss outside a describe?)');
    return server;
  };
  const local: LocalOss = {
    get server() {
      return running();
    },
    async options(overrides = {}) {
      const s = running();
      const options: OssDriverOptions = {
        ...(s.stsToken === undefined ? {} : { stsToken: s.stsToken }),
        accessKeyId: s.accessKeyId,
        accessKeySecret: s.accessKeySecret,
        region: s.region,
        endpoint: s.endpoint,
        pathStyle: true,
        bucket: `unit-${randomBytes(6).toString('hex')}`,
        ...overrides,
      };
      // Created directly on the server, whatever endpoint (a proxy, say) the driver is to use.
      await ossDriverInternals(new OssDriver({ ...options, endpoint: s.endpoint })).client.putBucket(options.bucket);
      return options;
    },
    async driver(overrides = {}) {
      return new OssDriver(await local.options(overrides));
    },
    keys(bucket) {
      const stored = running().store.buckets.get(bucket);
      if (!stored) throw new Error(`no bucket ${bucket} on the local OSS server`);
      return [...stored.keys];
    },
  };
  return local;
}

export type Fault = 'slowdown' | 'reset' | 'denied' | 'lose-response';

/**
 * A proxy in front of the local OSS server that spoils chosen requests: answers 503 SlowDown or
 * 403 AccessDenied itself, resets the connection, or forwards the request and then drops the
 * connection instead of relaying the answer (a response lost on the way back).
 */
export class FaultyProxy {
  readonly log: Array<{ method: string; url: string; headers: IncomingMessage['headers']; fault?: Fault }> = [];
  private server: Server | undefined;

  constructor(
    private readonly upstreamPort: number,
    private readonly choose: (req: IncomingMessage, attempt: number) => Fault | undefined = () => undefined,
  ) {}

  get endpoint(): string {
    return `http://localhost:${(this.server!.address() as AddressInfo).port}`;
  }

  faults(): number {
    return this.log.filter((entry) => entry.fault).length;
  }

  async start(): Promise<void> {
    const attempts = new Map<string, number>();
    this.server = createServer((req, res) => {
      const id = `${req.method} ${req.url}`;
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const fault = this.choose(req, attempt);
      this.log.push({ method: req.method!, url: req.url!, headers: req.headers, ...(fault ? { fault } : {}) });
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault === 'slowdown' || fault === 'denied') {
        req.resume();
        req.on('end', () => answerError(res, fault === 'slowdown' ? 503 : 403, fault === 'slowdown' ? 'SlowDown' : 'AccessDenied'));
        return;
      }
      this.forward(req, res, fault === 'lose-response');
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse, loseResponse: boolean): void {
    const upstream = request({ host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (loseResponse) {
        // The server did the work; the client never hears about it.
        answer.resume();
        answer.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  }
}

function answerError(res: ServerResponse, status: number, code: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the test proxy</Message><RequestId>0</RequestId><HostId>localhost</HostId></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
