/**
 * Builds the S3Client the driver talks through, configured to work unchanged against AWS and
 * S3 clones (MinIO, Ceph RGW, Cloudflare R2, Swift's s3api).
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3DriverOptions } from './options';

/** Sockets per client: enough for several writers' parts and a multipart copy in parallel. */
const MAX_SOCKETS = 128;

export function buildS3Client(options: S3DriverOptions): S3Client {
  const secure = options.secure ?? true;
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle ?? false,
    tls: secure,
    useDualstackEndpoint: options.useDualStack ?? false,
    useAccelerateEndpoint: options.accelerate ?? false,
    maxAttempts: options.maxAttempts ?? 5,
    // New SDKs send aws-chunked bodies with CRC trailers by default, which many S3 clones reject:
    // checksums only where the API requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, rejectUnauthorized: !options.skipVerify }),
    }),
  };
  if (options.regionEndpoint) config.endpoint = withScheme(options.regionEndpoint, secure);
  if (options.accessKey && options.secretKey) {
    config.credentials = { accessKeyId: options.accessKey, secretAccessKey: options.secretKey, ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}) };
  }
  // Otherwise the SDK's default chain: environment, shared config, SSO, web identity, ECS, IMDS.
  if (options.userAgent) config.customUserAgent = options.userAgent;
  if (options.logLevel && /debug|info/i.test(options.logLevel)) config.logger = console;
  const client = new S3Client(config);
  addContentMd5ToDeleteObjects(client);
  return client;
}

/** distribution accepts `regionendpoint` with or without a scheme. */
function withScheme(endpoint: string, secure: boolean): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `${secure ? 'https' : 'http'}://${endpoint}`;
}

/**
 * DeleteObjects must carry an integrity checksum. Current SDKs send only a CRC32 header, but
 * older S3 implementations (and S3 itself, historically) require Content-MD5: send both.
 */
function addContentMd5ToDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === 'DeleteObjectsCommand' && request.headers && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'stowageDeleteObjectsContentMd5', priority: 'low' },
  );
}
