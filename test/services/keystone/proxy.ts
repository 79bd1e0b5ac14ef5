// Forwards requests to the real Swift proxy, streaming both bodies, with the stand-in's token
// swapped for a real tempauth token.
import http from 'node:http';
import { pipeline } from 'node:stream';

export interface SwiftAccess {
  /** tempauth, e.g. http://127.0.0.1:8080/auth/v1.0 */
  authUrl: string;
  user: string;
  key: string;
  /** The Swift proxy, e.g. http://127.0.0.1:8080 */
  endpoint: string;
}

// Meaningful for one connection only (RFC 9110 7.6.1), so never forwarded. Host is Swift's own.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'host']);

function requestHeaders(rawHeaders: string[], host: string, replaceToken: string | undefined, hasBody: boolean): string[] {
  // http.request adds no Host when given headers as a list.
  const headers: string[] = ['Host', host];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || name === 'expect') continue;
    if (replaceToken !== undefined && (name === 'x-auth-token' || name === 'x-storage-token')) continue;
    headers.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  if (replaceToken !== undefined) headers.push('X-Auth-Token', replaceToken);
  // Swift then answers an auth failure (or any early error) before we send the body, so the body
  // is still unread and the request can be retried with a fresh token.
  if (hasBody) headers.push('Expect', '100-continue');
  return headers;
}

function responseHeaders(rawHeaders: string[]): string[] {
  const headers: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    // Node frames the response itself (Content-Length when Swift sent one, chunked otherwise).
    if (HOP_BY_HOP.has(name) || name === 'transfer-encoding') continue;
    headers.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return headers;
}

interface Retries {
  /** Swift answered 401 to the cached tempauth token: log in again once. */
  swiftToken: boolean;
  /** A kept-alive socket Swift had closed failed before anything was sent: once more on a new one. */
  staleSocket: boolean;
}

export class SwiftProxy {
  private readonly agent = new http.Agent({ keepAlive: true, timeout: 30_000 });
  private readonly upstream: URL;
  private cachedToken: string | undefined;
  private login: Promise<string> | undefined;

  constructor(private readonly swift: SwiftAccess) {
    this.upstream = new URL(swift.endpoint);
  }

  /**
   * Sends `req` to Swift at `target` (path and query, passed through as they are) and its answer back.
   * With `useSwiftToken` the client's token is replaced by tempauth's; without it (TempURL, /info)
   * the headers go as they came.
   */
  forward(req: http.IncomingMessage, res: http.ServerResponse, target: string, useSwiftToken: boolean): void {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    let current: http.ClientRequest | undefined;
    // The client went away (or the response was cut): abort what is in flight upstream.
    res.on('close', () => {
      if (!res.writableFinished) current?.destroy();
    });

    const fail = (err: Error) => {
      if (res.destroyed || res.writableEnded) return;
      if (res.headersSent) {
        res.destroy(err);
        return;
      }
      const message = `keystone stand-in: Swift request failed: ${err.message}\n`;
      res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(message) });
      res.end(message);
    };

    const attempt = async (retries: Retries): Promise<void> => {
      const swiftToken = useSwiftToken ? await this.token() : undefined;
      if (res.destroyed) return; // the client left while we logged in
      const upstream = http.request({
        protocol: this.upstream.protocol,
        hostname: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: target,
        headers: requestHeaders(req.rawHeaders, this.upstream.host, swiftToken, hasBody),
        agent: this.agent,
      });
      current = upstream;
      let bodyStarted = false;
      let responded = false;
      let abandoned = false;
      const retry = (next: Retries) => {
        abandoned = true;
        upstream.destroy();
        attempt(next).catch(fail);
      };

      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (abandoned) return;
        if (retries.staleSocket && upstream.reusedSocket && !bodyStarted && !responded && err.code === 'ECONNRESET') {
          retry({ ...retries, staleSocket: false });
          return;
        }
        fail(err);
      });
      upstream.on('continue', () => {
        bodyStarted = true;
        pipeline(req, upstream, () => {}); // on error pipeline destroys both: Swift and the client both see the abort
      });
      upstream.on('response', (upstreamRes) => {
        responded = true;
        upstreamRes.on('error', () => {}); // an abort mid-body is handled by pipeline below
        if (upstreamRes.statusCode === 401 && swiftToken !== undefined) {
          this.forget(swiftToken);
          if (retries.swiftToken && !bodyStarted) {
            upstreamRes.resume();
            retry({ ...retries, swiftToken: false });
            return;
          }
        }
        res.writeHead(upstreamRes.statusCode!, upstreamRes.statusMessage, responseHeaders(upstreamRes.rawHeaders));
        pipeline(upstreamRes, res, (err) => {
          // Swift answered without asking for the body: this socket is mid-request, so it can't be reused.
          if (err || (hasBody && !bodyStarted)) upstream.destroy();
        });
      });

      if (hasBody)
        upstream.flushHeaders(); // and wait for 100 Continue before sending the body
      else upstream.end();
    };

    attempt({ swiftToken: true, staleSocket: true }).catch(fail);
  }

  close(): void {
    this.agent.destroy();
  }

  /** The tempauth token, logging in on first use and after forget(). */
  private token(): Promise<string> {
    if (this.cachedToken !== undefined) return Promise.resolve(this.cachedToken);
    this.login ??= this.fetchToken().then(
      (token) => {
        this.cachedToken = token;
        this.login = undefined;
        return token;
      },
      (err: unknown) => {
        this.login = undefined;
        throw err;
      },
    );
    return this.login;
  }

  /** Swift refused `token`; drop it unless a newer one already replaced it. */
  private forget(token: string): void {
    if (this.cachedToken === token) this.cachedToken = undefined;
  }

  private fetchToken(): Promise<string> {
    return new Promise((resolve, reject) => {
      const request = http.get(
        this.swift.authUrl,
        { agent: this.agent, headers: { 'X-Auth-User': this.swift.user, 'X-Auth-Key': this.swift.key } },
        (response) => {
          response.resume();
          const token = response.headers['x-auth-token'];
          if (response.statusCode === 200 && typeof token === 'string') resolve(token);
          else reject(new Error(`tempauth login at ${this.swift.authUrl} answered ${response.statusCode}`));
        },
      );
      request.on('error', reject);
    });
  }
}
