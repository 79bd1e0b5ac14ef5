/**
 * A local Aliyun OSS server for tests and benchmarks: Node's http module on 127.0.0.1, in-memory storage,
 * OSS's REST API as the real ali-oss client speaks it (see README.md for what is implemented).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authenticate, type AuthOptions } from './auth';
import { SIGNED_SUBRESOURCES } from './auth-v1';
import { OssError, methodNotAllowed, notImplemented } from './errors';
import { RequestContext, isOssError } from './request';
import { Bucket, Store } from './store';
import type { HandlerEnv } from './handlers/common';
import * as bucketOps from './handlers/bucket';
import * as objectOps from './handlers/object';
import * as multipartOps from './handlers/multipart';

export interface OssServerOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  /** Makes the key pair an STS one: requests must then carry this x-oss-security-token. */
  stsToken?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Region as ali-oss names it; V4 scopes must carry it without the `oss-` prefix. */
  region?: string;
  /** The server clock (default: the real one); replays of captured requests fix it. */
  now?: () => Date;
  /** Reject requests more than 15 minutes off the server clock (default true). */
  checkClockSkew?: boolean;
  /** Deterministic upload IDs from this seed (default: random), so captured requests replay. */
  uploadIdSeed?: string;
  /** Buckets to create at start. */
  buckets?: string[];
  /** Called once per answered request (tests use it to see what a client really sent). */
  onRequest?: (request: ObservedRequest) => void;
}

/** What onRequest reports of one request. */
export interface ObservedRequest {
  method: string;
  /** The request-target as sent: `/key?query` (origin-form) or `http://host/key?query` (absolute-form). */
  target: string;
  host: string | undefined;
  status: number;
}

export interface OssServerHandle {
  port: number;
  /** `http://localhost:PORT`: use with ali-oss's `sldEnable: true` (path-style). */
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  stsToken?: string;
  region: string;
  store: Store;
  close(): Promise<void>;
}

const DEFAULT_ACCESS_KEY_ID = 'STOWAGELOCALOSSKEY';
const DEFAULT_ACCESS_KEY_SECRET = 'stowage-local-oss-secret';
const DEFAULT_REGION = 'oss-cn-hangzhou';

/** Sub-resources answered at bucket level, per method. */
const BUCKET_SUBRESOURCES: Record<string, string[]> = {
  GET: ['bucketInfo', 'location', 'uploads', 'continuation-token'],
  POST: ['delete'],
  PUT: [],
  DELETE: [],
  HEAD: [],
};
/** Sub-resources answered at object level, per method. */
const OBJECT_SUBRESOURCES: Record<string, string[]> = {
  GET: ['uploadId'],
  HEAD: ['objectMeta'],
  PUT: ['partNumber', 'uploadId'],
  POST: ['uploads', 'uploadId', 'append', 'position'],
  DELETE: ['uploadId'],
};

/** The query parameters of a V4 signed URL, which are not sub-resources. */
const V4_URL_PARAMS = new Set([
  'x-oss-signature-version',
  'x-oss-credential',
  'x-oss-date',
  'x-oss-expires',
  'x-oss-signature',
  'x-oss-additional-headers',
  'x-oss-security-token',
]);

/** A signed sub-resource this server does not implement for the method (response-* and tokens are fine). */
function unsupportedSubresource(ctx: RequestContext, supported: string[]): string | undefined {
  for (const { key } of ctx.query) {
    if (!SIGNED_SUBRESOURCES.has(key) && !key.startsWith('x-oss-')) continue;
    if (key.startsWith('response-') || key === 'security-token' || V4_URL_PARAMS.has(key) || supported.includes(key)) continue;
    return key;
  }
  return undefined;
}

async function route(ctx: RequestContext, env: HandlerEnv): Promise<void> {
  const { bucket, key } = ctx.target;
  const method = ctx.method;
  if (bucket === undefined) {
    if (method === 'GET') return bucketOps.listBuckets(ctx, env);
    throw methodNotAllowed(method, 'Service');
  }
  if (key === undefined) {
    const unsupported = unsupportedSubresource(ctx, BUCKET_SUBRESOURCES[method] ?? []);
    if (unsupported !== undefined) throw notImplemented(`${method} ?${unsupported} on a bucket`);
    switch (method) {
      case 'GET':
        if (ctx.has('bucketInfo')) return bucketOps.getBucketInfo(ctx, env);
        if (ctx.has('location')) return bucketOps.getBucketLocation(ctx, env);
        if (ctx.has('uploads')) return multipartOps.listMultipartUploads(ctx, env);
        if (ctx.param('list-type') === '2') return bucketOps.listObjectsV2(ctx, env);
        return bucketOps.listObjects(ctx, env);
      case 'PUT':
        return bucketOps.putBucket(ctx, env);
      case 'DELETE':
        return bucketOps.deleteBucket(ctx, env);
      case 'POST':
        if (ctx.has('delete')) return bucketOps.deleteMultipleObjects(ctx, env);
        break;
    }
    throw methodNotAllowed(method, 'Bucket');
  }
  const unsupported = unsupportedSubresource(ctx, OBJECT_SUBRESOURCES[method] ?? []);
  if (unsupported !== undefined) throw notImplemented(`${method} ?${unsupported} on an object`);
  const copy = ctx.header('x-oss-copy-source') !== undefined;
  switch (method) {
    case 'PUT':
      if (ctx.has('partNumber') || ctx.has('uploadId')) return copy ? multipartOps.uploadPartCopy(ctx, env) : multipartOps.uploadPart(ctx, env);
      return copy ? objectOps.copyObject(ctx, env) : objectOps.putObject(ctx, env);
    case 'GET':
      if (ctx.has('uploadId')) return multipartOps.listParts(ctx, env);
      return objectOps.getObject(ctx, env);
    case 'HEAD':
      if (ctx.has('objectMeta')) return objectOps.getObjectMeta(ctx, env);
      return objectOps.getObject(ctx, env);
    case 'DELETE':
      if (ctx.has('uploadId')) return multipartOps.abortMultipartUpload(ctx, env);
      return objectOps.deleteObject(ctx, env);
    case 'POST':
      if (ctx.has('uploads')) return multipartOps.initiateMultipartUpload(ctx, env);
      if (ctx.has('uploadId')) return multipartOps.completeMultipartUpload(ctx, env);
      if (ctx.has('append')) return objectOps.appendObject(ctx, env);
      break;
  }
  throw methodNotAllowed(method, 'Object');
}

export async function startOssServer(options: OssServerOptions = {}): Promise<OssServerHandle> {
  const accessKeyId = options.accessKeyId ?? DEFAULT_ACCESS_KEY_ID;
  const accessKeySecret = options.accessKeySecret ?? DEFAULT_ACCESS_KEY_SECRET;
  const region = options.region ?? DEFAULT_REGION;
  const now = options.now ?? (() => new Date());
  const store = new Store(options.uploadIdSeed);
  const env: HandlerEnv = { store, now, location: region };
  const auth: AuthOptions = {
    credentials: { accessKeyId, accessKeySecret, ...(options.stsToken === undefined ? {} : { securityToken: options.stsToken }) },
    region: region.replace(/^oss-/, ''),
    now,
    checkClockSkew: options.checkClockSkew ?? true,
  };
  for (const name of options.buckets ?? []) {
    store.buckets.set(name, new Bucket(name, now(), { storageClass: 'Standard', acl: 'private' }));
  }

  const server: Server = createServer((req, res) => {
    const ctx = new RequestContext(req, res);
    const observe = options.onRequest;
    if (observe) {
      res.once('finish', () => observe({ method: ctx.method, target: req.url ?? '', host: req.headers.host, status: res.statusCode }));
    }
    const run = async () => {
      authenticate(ctx, auth);
      await route(ctx, env);
    };
    run().catch((err: unknown) => {
      if (isOssError(err)) {
        ctx.sendError(err);
      } else if (!ctx.isAnswered && !req.destroyed) {
        ctx.sendError(new OssError(500, 'InternalError', `We encountered an internal error: ${String(err)}`));
      } else {
        res.destroy();
      }
    });
  });
  // Large benchmark uploads must not hit Node's default request timeout; keep-alive outlives ali-oss's pool.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    endpoint: `http://localhost:${port}`,
    accessKeyId,
    accessKeySecret,
    ...(options.stsToken === undefined ? {} : { stsToken: options.stsToken }),
    region,
    store,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
