// A Keystone (v2.0 and v3) stand-in for testing the Swift driver's auth: it issues its own tokens
// and proxies the catalog's object-store endpoints to the real local Swift. See README.md.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  authenticateV2,
  authenticateV3,
  buildCatalog,
  INTERFACES,
  KeystoneError,
  objectStoreUrl,
  REGIONS,
  TokenStore,
  type Interface,
  type Region,
  type Reply,
} from './identity';
import { SwiftProxy, type SwiftAccess } from './proxy';

export { KEYSTONE_APPLICATION_CREDENTIAL, KEYSTONE_PROJECT, KEYSTONE_TRUST, KEYSTONE_USER, KEYSTONE_USERS } from './identity';

export interface KeystoneStandIn {
  /** http://127.0.0.1:<port> */
  url: string;
  /** `${url}/v2.0` */
  authUrlV2: string;
  /** `${url}/v3` */
  authUrlV3: string;
  /** The object-store URL the catalog gives for region+interface (proxied to the real Swift). */
  endpoint(region: Region, iface: Interface): string;
  /**
   * Requests each endpoint served (key `${region}/${iface}`), tokens issued by API version, and the
   * 401s the stand-in answered itself (failed token requests and refused proxy requests; a 401 that
   * Swift gives, to a bad TempURL say, is passed on and not counted).
   */
  stats: { proxied: Record<string, number>; issued: { v2: number; v3: number }; rejected: number };
  /** Token lifetime in seconds for tokens issued from now on (default 3600). */
  setTokenTtl(seconds: number): void;
  /** Expire every token issued so far (the proxy then answers 401 to them). */
  expireAll(): void;
  close(): Promise<void>;
}

const MAX_AUTH_BODY = 64 * 1024;
const SWIFT_PATH = /^\/swift\/([^/?]+)\/([^/?]+)(\/[^?]*)?(\?.*)?$/;

export async function startKeystone(swift: SwiftAccess): Promise<KeystoneStandIn> {
  const tokens = new TokenStore();
  const proxy = new SwiftProxy(swift);
  const stats: KeystoneStandIn['stats'] = { proxied: {}, issued: { v2: 0, v3: 0 }, rejected: 0 };
  for (const region of REGIONS) for (const iface of INTERFACES) stats.proxied[`${region}/${iface}`] = 0;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      sendJson(res, { status: 500, body: { error: { code: 500, title: 'Internal Server Error', message: String(err) } } });
    });
  });
  server.requestTimeout = 0; // a 256 MiB upload may take longer than Node's default 5 minutes

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const catalog = buildCatalog(url);

  function sendJson(res: http.ServerResponse, reply: Reply): void {
    const body = JSON.stringify(reply.body);
    const headers: Record<string, string | number> = {
      ...reply.headers,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    };
    if (reply.status === 401) headers['WWW-Authenticate'] = `Keystone uri="${url}"`;
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  const notFound = (res: http.ServerResponse) =>
    sendJson(res, { status: 404, body: { error: { code: 404, title: 'Not Found', message: 'The resource could not be found.' } } });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    if (rawUrl.startsWith('/swift/')) return proxyToSwift(req, res, rawUrl);
    const { pathname, searchParams } = new URL(rawUrl, url);
    const path = pathname.replace(/\/+$/, '') || '/';

    if (path === '/v3/auth/tokens' || path === '/v2.0/tokens') {
      if (req.method !== 'POST') {
        const error = { code: 405, title: 'Method Not Allowed', message: `${req.method} is not served here` };
        sendJson(res, { status: 405, body: { error } });
        return;
      }
      const version = path === '/v3/auth/tokens' ? 'v3' : 'v2';
      let reply: Reply;
      try {
        const request = await readJson(req);
        reply = version === 'v3' ? authenticateV3(tokens, catalog, request, !searchParams.has('nocatalog')) : authenticateV2(tokens, catalog, request);
        stats.issued[version]++;
      } catch (err) {
        if (!(err instanceof KeystoneError)) throw err;
        if (err.status === 401) stats.rejected++;
        reply = { status: err.status, body: err.body };
      }
      sendJson(res, reply);
      return;
    }

    // Version discovery, for clients that look before they log in.
    if (req.method === 'GET' && (path === '/v3' || path === '/v2.0')) {
      sendJson(res, { status: 200, body: { version: versionDoc(path) } });
      return;
    }
    if (req.method === 'GET' && path === '/') {
      sendJson(res, { status: 300, body: { versions: { values: [versionDoc('/v3'), versionDoc('/v2.0')] } } });
      return;
    }
    notFound(res);
  }

  function versionDoc(path: '/v3' | '/v2.0') {
    const v3 = path === '/v3';
    return {
      id: v3 ? 'v3.14' : 'v2.0',
      status: v3 ? 'stable' : 'deprecated',
      updated: v3 ? '2020-04-07T00:00:00Z' : '2016-08-04T00:00:00Z',
      links: [{ rel: 'self', href: `${url}${path}/` }],
      'media-types': [{ base: 'application/json', type: `application/vnd.openstack.identity-${v3 ? 'v3' : 'v2.0'}+json` }],
    };
  }

  function proxyToSwift(req: http.IncomingMessage, res: http.ServerResponse, rawUrl: string): void {
    const match = SWIFT_PATH.exec(rawUrl);
    const region = match?.[1] as Region | undefined;
    const iface = match?.[2] as Interface | undefined;
    if (!match || !REGIONS.includes(region!) || !INTERFACES.includes(iface!)) {
      notFound(res);
      return;
    }
    const rest = match[3] ?? '/';
    const query = match[4] ?? '';
    // TempURLs carry their own signature, and /info is public: Swift decides, not the token.
    const isTempUrl = new URLSearchParams(query.slice(1)).has('temp_url_sig');
    const isInfo = rest === '/info' && (req.method === 'GET' || req.method === 'HEAD');
    if (!isTempUrl && !isInfo) {
      const token = tokens.valid(req.headers['x-auth-token'] ?? req.headers['x-storage-token']);
      if (!token?.project) {
        // Swift behind keystonemiddleware answers so.
        stats.rejected++;
        const body = '<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized to access the document you requested.</p></html>';
        res.writeHead(401, {
          'Content-Type': 'text/html; charset=UTF-8',
          'Content-Length': Buffer.byteLength(body),
          'WWW-Authenticate': `Keystone uri="${url}"`,
        });
        res.end(body);
        return;
      }
    }
    stats.proxied[`${region}/${iface}`]!++;
    proxy.forward(req, res, rest + query, !isTempUrl && !isInfo);
  }

  return {
    url,
    authUrlV2: `${url}/v2.0`,
    authUrlV3: `${url}/v3`,
    endpoint: (region, iface) => objectStoreUrl(url, region, iface),
    stats,
    setTokenTtl(seconds) {
      tokens.ttlSeconds = seconds;
    },
    expireAll() {
      tokens.expireAll();
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        proxy.close();
      });
    },
  };
}

/** The JSON body of a token request; malformed JSON is a 400, as in Keystone. */
function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_AUTH_BODY) {
        // Answer now; Node discards the rest of the body.
        req.removeAllListeners('data');
        req.resume();
        reject(new KeystoneError(400, 'Request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new KeystoneError(400, 'The request body is not valid JSON.'));
      }
    });
  });
}
