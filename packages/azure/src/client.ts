/**
 * Builds the SDK clients from the options, with the credential distribution would pick, and the
 * signer for redirect URLs: a blob SAS signed with the account key, or a user-delegation SAS for
 * token credentials (Azure AD), as distribution does. Also how requests are retried: the SDK's
 * retry options, and retryRead for the small reads the driver asks again itself.
 */
import {
  BlobSASPermissions,
  BlobServiceClient,
  SASProtocol,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
  type ContainerClient,
  type StoragePipelineOptions,
  type UserDelegationKey,
} from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { retryRead as retryReadAgain } from '@stowage/core/internal';
import { invalidParameter, isRetriable } from './errors';
import { DEFAULT_MAX_TRIES, DEFAULT_REALM, type AzureDriverOptions } from './options';

/** Signs read-only URLs of single blobs. */
interface UrlSigner {
  /** The longest lifetime a URL may have, in seconds; unbounded when undefined. */
  readonly maxLifetimeSeconds?: number;
  /** The SAS query string (without '?') for reading `blobName` until `expiresOn`. */
  sign(blobName: string, expiresOn: Date): Promise<string>;
}

export interface AzureClients {
  service: BlobServiceClient;
  container: ContainerClient;
  accountName: string;
  /** How requests are authenticated, for messages: 'shared key', 'client secret', ... */
  authentication: string;
  /** Undefined when the credential cannot sign URLs (a connection string with a SAS token). */
  signer: UrlSigner | undefined;
}

/** The SDK's user agent gets this prefix, so requests are recognisable in storage logs. */
const USER_AGENT_PREFIX = 'stowage-azure';
/** User-delegation keys are requested for 48 hours and renewed 30 minutes before they would not cover a URL. */
const DELEGATION_KEY_LIFETIME_MS = 48 * 3600_000;
const DELEGATION_KEY_GRACE_MS = 30 * 60_000;
/** Azure's longest user-delegation key. */
const DELEGATION_KEY_MAX_MS = 7 * 24 * 3600_000;
/** Start times are set a little in the past: the service's clock may be behind ours. */
const CLOCK_SKEW_MS = 60_000;

/**
 * The SDK's exponential backoff waits (2^(try-1) - 1) x retryDelayInMs, capped at maxRetryDelayInMs:
 * by default 0, 4 s, 12 s, 28 s ... up to 120 s, so two faults in a row stalled a call for seconds
 * and a few for minutes. 0, 0.5 s, 1.5 s, 3.5 s, capped at 4 s keeps recovery short. (tryTimeoutInMs
 * is left unset: it is a server-side limit per try, which would also cap the upload of a large block.)
 */
const RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 4000;

/** Attempts of a read the driver asks again itself (retryRead), each with the SDK's own tries. */
const READ_ATTEMPTS = 4;

/**
 * Runs a small idempotent read (Get Block List, Get Blob Properties, a download pinned to an
 * ETag) and runs it again, up to READ_ATTEMPTS in all, when it failed in a way that may pass
 * (errors.ts isRetriable): the SDK's retry policy gives up after its tries, and never retries a
 * download cut mid-body (an AbortError to it). The waits between attempts are the SDK's backoff
 * above (0, 0.5 s, 1.5 s, capped at 4 s); an abort of `signal` ends them at once.
 */
export async function retryRead<T>(read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return retryReadAgain(read, {
    attempts: READ_ATTEMPTS,
    delayMs: (attempt) => Math.min((2 ** (attempt - 1) - 1) * RETRY_DELAY_MS, MAX_RETRY_DELAY_MS),
    retriable: (err) => isRetriable(err, signal),
    signal,
  });
}

function pipelineOptions(options: AzureDriverOptions): StoragePipelineOptions {
  return {
    retryOptions: { maxTries: options.maxTries ?? DEFAULT_MAX_TRIES, retryDelayInMs: RETRY_DELAY_MS, maxRetryDelayInMs: MAX_RETRY_DELAY_MS },
    userAgentOptions: { userAgentPrefix: USER_AGENT_PREFIX },
  };
}

/** The part of core-rest-pipeline's Pipeline used here (not a direct dependency). */
interface CorePipeline {
  addPolicy(
    policy: { name: string; sendRequest(request: unknown, next: (request: unknown) => Promise<unknown>): Promise<unknown> },
    options?: { afterPhase?: string },
  ): void;
}

/**
 * A connection lost while the HTTP client reads an answer's text (listings, block lists, errors)
 * surfaces as a RestError with code PARSE_ERROR ("Error reading response as text: aborted"), which
 * the SDK's retry policy does not retry, although nothing was parsed: it failed the call. Placed
 * after the retry phase (nearer the transport), this policy gives such an error the network code
 * it stands for, so the retry policy retries it like a reset before the headers. Every client made
 * from `service` (getContainerClient, getBlobClient) shares its core pipeline.
 */
function retryCutTextBodies(service: BlobServiceClient): void {
  const pipeline = (service as unknown as { storageClientContext?: { pipeline?: CorePipeline } }).storageClientContext?.pipeline;
  if (typeof pipeline?.addPolicy !== 'function') return; // an SDK whose internals moved: the SDK's own behaviour
  pipeline.addPolicy(
    {
      name: 'stowageRetryCutTextBodies',
      async sendRequest(request, next) {
        try {
          return await next(request);
        } catch (err) {
          const error = err as { name?: string; code?: string; message?: string } | null;
          if (error?.name === 'RestError' && error.code === 'PARSE_ERROR' && /^Error reading response as text/.test(error.message ?? '')) {
            error.code = 'ECONNRESET';
          }
          throw err;
        }
      },
    },
    { afterPhase: 'Retry' },
  );
}

/** @azure/identity is loaded only when a token credential is configured (it is large). */
function identity(): typeof import('@azure/identity') {
  return require('@azure/identity') as typeof import('@azure/identity');
}

/** The token credential the options ask for, or undefined for shared key authentication. */
function tokenCredentialOf(options: AzureDriverOptions): { credential: TokenCredential; authentication: string } | undefined {
  if (options.tokenCredential) return { credential: options.tokenCredential, authentication: 'token credential' };
  const creds = options.credentials;
  if (creds?.type === 'client_secret') {
    for (const [name, value] of [
      ['tenantId', creds.tenantId],
      ['clientId', creds.clientId],
      ['secret', creds.secret],
    ] as const) {
      if (typeof value !== 'string' || value === '') throw invalidParameter(`credentials.${name}`, 'is required for credentials of type client_secret');
    }
    return { credential: new (identity().ClientSecretCredential)(creds.tenantId, creds.clientId, creds.secret), authentication: 'client secret' };
  }
  if (creds?.type === 'shared_key') return undefined;
  // distribution: no account key and no client secret means the default credential chain
  // (environment, workload identity, managed identity, Azure CLI, ...).
  if (creds?.type === 'default_credentials' || !options.accountKey) {
    return { credential: new (identity().DefaultAzureCredential)(), authentication: 'default credentials' };
  }
  return undefined;
}

export function createClients(options: AzureDriverOptions): AzureClients {
  const clients = createClientsOf(options);
  retryCutTextBodies(clients.service);
  return clients;
}

function createClientsOf(options: AzureDriverOptions): AzureClients {
  const container = options.container;
  if (typeof container !== 'string' || container === '') throw invalidParameter('container', 'is required');

  if (options.connectionString) {
    let service: BlobServiceClient;
    try {
      service = BlobServiceClient.fromConnectionString(options.connectionString, pipelineOptions(options));
    } catch (err) {
      throw invalidParameter('connectionString', `cannot be parsed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const key = service.credential instanceof StorageSharedKeyCredential ? service.credential : undefined;
    return {
      service,
      container: service.getContainerClient(container),
      accountName: service.accountName,
      authentication: key ? 'connection string (shared key)' : 'connection string (SAS)',
      signer: key ? new SharedKeySigner(container, key, service.url) : undefined,
    };
  }

  const accountName = options.accountName;
  if (!accountName && !options.serviceUrl) throw invalidParameter('accountName', 'is required (or give serviceUrl or connectionString)');
  const serviceUrl = options.serviceUrl ?? `https://${accountName}.blob.${options.realm ?? DEFAULT_REALM}`;
  try {
    new URL(serviceUrl);
  } catch {
    throw invalidParameter('serviceUrl', `is not a URL: ${JSON.stringify(serviceUrl)}`);
  }

  const token = tokenCredentialOf(options);
  if (token) {
    const service = new BlobServiceClient(serviceUrl, token.credential, pipelineOptions(options));
    return {
      service,
      container: service.getContainerClient(container),
      accountName: service.accountName || accountName || '',
      authentication: token.authentication,
      signer: new UserDelegationSigner(service, container, serviceUrl),
    };
  }
  if (!accountName) throw invalidParameter('accountName', 'is required for shared key authentication');
  if (!options.accountKey) throw invalidParameter('accountKey', 'is required for credentials of type shared_key');
  let key: StorageSharedKeyCredential;
  try {
    key = new StorageSharedKeyCredential(accountName, options.accountKey);
  } catch (err) {
    throw invalidParameter('accountKey', `is not a valid key: ${err instanceof Error ? err.message : String(err)}`);
  }
  const service = new BlobServiceClient(serviceUrl, key, pipelineOptions(options));
  return {
    service,
    container: service.getContainerClient(container),
    accountName,
    authentication: 'shared key',
    signer: new SharedKeySigner(container, key, serviceUrl),
  };
}

/** https only, as distribution signs, unless the endpoint itself is plain http (Azurite). */
function protocolFor(serviceUrl: string): SASProtocol {
  return serviceUrl.startsWith('http:') ? SASProtocol.HttpsAndHttp : SASProtocol.Https;
}

class SharedKeySigner implements UrlSigner {
  constructor(
    private readonly containerName: string,
    private readonly key: StorageSharedKeyCredential,
    private readonly serviceUrl: string,
  ) {}

  async sign(blobName: string, expiresOn: Date): Promise<string> {
    return generateBlobSASQueryParameters(
      { containerName: this.containerName, blobName, permissions: BlobSASPermissions.parse('r'), expiresOn, protocol: protocolFor(this.serviceUrl) },
      this.key,
    ).toString();
  }
}

/** A user-delegation SAS: signed with a key the service issues to the token's identity, cached until near its expiry. */
class UserDelegationSigner implements UrlSigner {
  readonly maxLifetimeSeconds = (DELEGATION_KEY_MAX_MS - DELEGATION_KEY_GRACE_MS) / 1000;
  private key: { value: UserDelegationKey; expiresOn: number } | undefined;
  private pending: Promise<{ value: UserDelegationKey; expiresOn: number }> | undefined;

  constructor(
    private readonly service: BlobServiceClient,
    private readonly containerName: string,
    private readonly serviceUrl: string,
  ) {}

  async sign(blobName: string, expiresOn: Date): Promise<string> {
    const key = await this.keyCovering(expiresOn.getTime());
    return generateBlobSASQueryParameters(
      {
        containerName: this.containerName,
        blobName,
        permissions: BlobSASPermissions.parse('r'),
        startsOn: new Date(Date.now() - CLOCK_SKEW_MS),
        expiresOn,
        protocol: protocolFor(this.serviceUrl),
      },
      key.value,
      this.service.accountName,
    ).toString();
  }

  private async keyCovering(until: number): Promise<{ value: UserDelegationKey; expiresOn: number }> {
    if (this.key && this.key.expiresOn - DELEGATION_KEY_GRACE_MS >= until) return this.key;
    this.pending ??= (async () => {
      const now = Date.now();
      const expiresOn = Math.min(now + DELEGATION_KEY_MAX_MS, Math.max(now + DELEGATION_KEY_LIFETIME_MS, until + DELEGATION_KEY_GRACE_MS));
      const value = await this.service.getUserDelegationKey(new Date(now - CLOCK_SKEW_MS), new Date(expiresOn));
      return { value, expiresOn };
    })().finally(() => {
      this.pending = undefined;
    });
    const key = await this.pending;
    this.key = key;
    return key;
  }
}
