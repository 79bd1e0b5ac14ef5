import { MiB } from '@stowage/core';
import type { TokenCredential } from '@azure/identity';

export const DRIVER_NAME = 'azure';

/** distribution's defaults. */
export const DEFAULT_REALM = 'core.windows.net';
export const DEFAULT_COPY_STATUS_POLL_MAX_RETRY = 5;
export const DEFAULT_COPY_STATUS_POLL_DELAY_MS = 100;

/** distribution's azure driver writes in 4 MiB pieces; so does this one, per staged block. */
export const DEFAULT_BLOCK_SIZE = 4 * MiB;
/** Azure's largest block (service version 2019-12-12 and later). */
export const MAX_BLOCK_SIZE = 4000 * MiB;
/** Blocks one writer keeps in flight; memory is bounded by blockSize x (this + 1). */
export const DEFAULT_UPLOAD_CONCURRENCY = 4;
/** Attempts per request, first one included (the SDK's exponential retry policy). */
export const DEFAULT_MAX_TRIES = 4;
/** Redirect URLs live 20 minutes unless asked otherwise, as in distribution. */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS = 20 * 60;
/** putContent up to this size is one Put Blob request (atomic by itself); larger content goes through staged blocks. */
export const MAX_SINGLE_PUT_SIZE = 256 * MiB;
/** Azure's largest Put Blob (service version 2019-12-12 and later). */
export const PUT_BLOB_LIMIT = 5000 * MiB;

/** distribution's `credentials` parameter. */
export type AzureCredentials =
  { type: 'shared_key' } | { type: 'client_secret'; tenantId: string; clientId: string; secret: string } | { type: 'default_credentials' };

export interface AzureDriverOptions {
  /** The container everything lives in; created on the first write if missing. */
  container: string;
  /** The storage account; required unless `connectionString` names it. */
  accountName?: string;
  /** The account key (shared key authentication, and read-only SAS redirect URLs). */
  accountKey?: string;
  /** How to authenticate when no account key is given: client_secret, default_credentials (or shared_key). */
  credentials?: AzureCredentials;
  /** A storage connection string (account key, SAS or `UseDevelopmentStorage=true`); wins over the above. */
  connectionString?: string;
  /** Endpoint suffix of the cloud (`core.chinacloudapi.cn`, `core.usgovcloudapi.net`); default core.windows.net. */
  realm?: string;
  /** The blob service endpoint; default `https://<accountName>.blob.<realm>`. For Azurite: `http://127.0.0.1:10000/devstoreaccount1`. */
  serviceUrl?: string;
  /** Prefix of every blob name: path P is the blob `<rootDirectory>P` (leading slashes dropped), as in distribution. */
  rootDirectory?: string;
  /** How many times move polls a pending server-side copy; -1: none, the copy must finish at once. Default 5. */
  copyStatusPollMaxRetry?: number;
  /** The delay before poll N is N times this; default 100 ms. */
  copyStatusPollDelayMs?: number;
  /** Bytes a writer buffers before staging them as one block; default 4 MiB. */
  blockSize?: number;
  /** Blocks one writer stages at once; default 4. */
  uploadConcurrency?: number;
  /** putContent up to this size is one Put Blob request, larger content is staged in blocks and committed; default 256 MiB. */
  maxSinglePutSize?: number;
  /** Attempts per request (the SDK retries throttling, 5xx and network errors with backoff); default 4. */
  maxTries?: number;
  /** Lifetime of redirect URLs when the caller gives none; default 20 minutes. */
  redirectExpirySeconds?: number;
  /** Authenticate with this token credential (any @azure/identity credential) instead of the above. */
  tokenCredential?: TokenCredential;
}
