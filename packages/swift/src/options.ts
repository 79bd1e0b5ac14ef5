import { MiB } from '@stowage/core';

export const DRIVER_NAME = 'swift';

/** distribution's swift chunksize: default 20 MiB, at least 1 MiB. */
export const DEFAULT_CHUNK_SIZE = 20 * MiB;
export const MIN_CHUNK_SIZE = 1 * MiB;
/** Segments one writer uploads at once; memory is bounded by chunkSize x (this + 1). */
export const DEFAULT_SEGMENT_CONCURRENCY = 4;
/** Server-side segment copies a move runs at once. */
export const DEFAULT_COPY_CONCURRENCY = 8;
/** TempURLs live 20 minutes unless asked otherwise, as in distribution. */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS = 20 * 60;
/** Attempts per request on network errors, 5xx, 408 and 429 (a 401 re-authenticates once on top). */
export const DEFAULT_MAX_ATTEMPTS = 4;
/**
 * How long a request may wait in silence before it fails as transient and is retried; see
 * silenceTimeoutMs. A Swift proxy gives up on its own backends after 60 s (client_timeout), so twice
 * that never cuts a healthy exchange short.
 */
export const DEFAULT_SILENCE_TIMEOUT_MS = 120_000;

export type AuthVersion = 1 | 2 | 3;
export type EndpointType = 'public' | 'internal' | 'admin';

/** Credentials and catalog choice: distribution's names, camel-cased. */
export interface SwiftAuthOptions {
  /** v1: the auth URL itself (…/auth/v1.0); v2: …/v2.0; v3: …/v3. */
  authUrl: string;
  /** 1, 2 or 3; guessed from the URL (v1.0 / v2.0 / v3) when omitted. */
  authVersion?: AuthVersion;
  username?: string;
  /** v1: the key (X-Auth-Key); v2/v3: the password. */
  password?: string;
  /** Keystone v3 user domain, by name or id. */
  domain?: string;
  domainId?: string;
  /** Project (v3) or tenant (v2), by name or id. */
  tenant?: string;
  tenantId?: string;
  /** The project's domain when it differs from the user's. */
  tenantDomain?: string;
  tenantDomainId?: string;
  /** Keystone v3 trust to scope the token to. */
  trustId?: string;
  /** Keystone v3 application credential: id + secret, or name + username (+ domain) + secret. */
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  applicationCredentialSecret?: string;
  /** Keystone v3 token auth: an existing token exchanged for a scoped one. */
  token?: string;
  /** Region of the object-store endpoint in the catalog (any region when omitted). */
  region?: string;
  /** Which catalog URL: public (default), internal or admin. */
  endpointType?: EndpointType;
  /** Accept any TLS certificate (test rigs only). */
  insecureSkipVerify?: boolean;
}

export interface SwiftDriverOptions extends SwiftAuthOptions {
  container: string;
  /** distribution's `prefix`: objects are `<prefix>/files<path>`, segments `<prefix>/segments/...`. */
  prefix?: string;
  /** Prepended to every path inside `files` (as rootdirectory in the other drivers). */
  rootDirectory?: string;
  /** Segment size of the writer; default 20 MiB, at least 1 MiB. */
  chunkSize?: number;
  segmentConcurrency?: number;
  copyConcurrency?: number;
  /** TempURL key; discovered from account (or container) metadata when omitted. */
  secretKey?: string;
  /** HP Cloud style TempURLs: `<tenantid>:<accesskey>:<signature>`. */
  accessKey?: string;
  /** Read the TempURL key from the container's metadata rather than the account's. */
  tempUrlContainerKey?: boolean;
  /** Methods redirectURL may sign; default GET and HEAD. redirectURL returns null for others. */
  tempUrlMethods?: string[];
  redirectExpirySeconds?: number;
  maxAttempts?: number;
  /**
   * How long, in milliseconds, a request may wait in silence before it fails as transient and is
   * retried (up to maxAttempts): for the connection (at most 10 s whatever this says), for the
   * answer's headers, and between two pieces of its body (a reader's stream too). Not a deadline
   * for the whole request: a long transfer that keeps moving is never cut. Default 120 000
   * (120 s); at least 1.
   */
  silenceTimeoutMs?: number;
  /** Create the container on first use when missing (distribution does); default true. */
  createContainer?: boolean;
}
