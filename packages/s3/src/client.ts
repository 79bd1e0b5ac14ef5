/**
 * Builds the S3Client the driver talks through, configured to work unchanged against AWS and
 * S3 clones (MinIO, Ceph RGW, Cloudflare R2, Swift's s3api).
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { Readable, type Duplex } from 'node:stream';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3DriverOptions } from './options';

/** Sockets per client: enough for several writers' parts and a multipart copy in parallel. */
const MAX_SOCKETS = 128;
const CONNECT_TIMEOUT_MS = 10_000;

/** `silenceTimeoutMs` is the checked option (S3DriverOptions.silenceTimeoutMs, default 120 s). */
export function buildS3Client(options: S3DriverOptions, silenceTimeoutMs: number): S3Client {
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
      // Without these a dead connection (no SYN-ACK, or silence after the request) waits forever:
      // 10 s to connect (less if the silence allowed is shorter), then silenceTimeoutMs (120 s) of
      // silence on an open socket (headers or body), then the SDK retries.
      connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, silenceTimeoutMs),
      socketTimeout: silenceTimeoutMs,
      httpAgent: new GuardedHttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
      httpsAgent: new GuardedHttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, rejectUnauthorized: !options.skipVerify }),
    }),
  };
  if (options.regionEndpoint) config.endpoint = withScheme(options.regionEndpoint, secure);
  if (options.accessKey && options.secretKey) {
    config.credentials = {
      accessKeyId: options.accessKey,
      secretAccessKey: options.secretKey,
      ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
    };
  }
  // Otherwise the SDK's default chain: environment, shared config, SSO, web identity, ECS, IMDS.
  if (options.userAgent) config.customUserAgent = options.userAgent;
  if (options.logLevel && /debug|info/i.test(options.logLevel)) config.logger = console;
  const client = new S3Client(config);
  addContentMd5ToDeleteObjects(client);
  readSmallObjectsInsideRetries(client);
  return client;
}

/** GetObject answers up to this size are read whole inside the SDK's retry loop. */
const BUFFERED_OBJECT_LIMIT = 1024 * 1024;

/**
 * The SDK retries a connection lost before the answer's headers, but hands GetObject's body over
 * unread, so a connection lost mid-body failed the call. Small objects (upload state, manifests,
 * small blobs) are read here, below the retry middleware, so that a cut body is retried like any
 * reset; the Body is then a stream over the bytes read. Large bodies stay streaming to the reader.
 */
function readSmallObjectsInsideRetries(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as { Body?: unknown; ContentLength?: number };
      if (context.commandName !== 'GetObjectCommand' || !(output.Body instanceof Readable)) return result;
      if (output.ContentLength === undefined || output.ContentLength > BUFFERED_OBJECT_LIMIT) return result;
      const chunks: Buffer[] = [];
      for await (const chunk of output.Body as AsyncIterable<Buffer>) chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      if (bytes.length !== output.ContentLength)
        throw Object.assign(new Error(`GetObject body ended after ${bytes.length} of ${output.ContentLength} bytes`), { code: 'ECONNRESET' });
      // The SDK's stream methods too, as on the Body it would have returned.
      output.Body = Object.assign(Readable.from(bytes.length > 0 ? [bytes] : [], { objectMode: false }), {
        transformToByteArray: async () => new Uint8Array(bytes),
        transformToString: async (encoding: BufferEncoding = 'utf8') => bytes.toString(encoding),
        transformToWebStream: () => Readable.toWeb(Readable.from(bytes.length > 0 ? [bytes] : [], { objectMode: false })),
      });
      return result;
    },
    { step: 'deserialize', name: 'stowageReadSmallObjectsInsideRetries', priority: 'high' },
  );
}

/**
 * A server may answer a request before reading its body and close the connection: UploadPart to a
 * multipart upload that was aborted (by a newer writer, see core's StagedUploads) gets 404
 * NoSuchUpload at once. The request settles with that answer, but the body's write then fails
 * with EPIPE on a socket no request listens to any more, and an unhandled socket 'error' would
 * end the process. Errors of a socket in use still reach its request, which listens too.
 */
function ignoreDetachedSocketErrors(socket: Duplex | null | undefined): Duplex | null | undefined {
  socket?.on('error', () => undefined);
  return socket;
}

class GuardedHttpAgent extends HttpAgent {
  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return ignoreDetachedSocketErrors(super.createConnection(options, callback));
  }
}

class GuardedHttpsAgent extends HttpsAgent {
  override createConnection(options: HttpsRequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return ignoreDetachedSocketErrors(super.createConnection(options, callback));
  }
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
