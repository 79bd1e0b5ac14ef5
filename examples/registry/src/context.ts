/** What a request handler gets: the request, the response, the parsed URL and the registry's parts. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StorageDriver } from '@stowage/core';
import type { BlobStore } from './blobs';
import type { RegistryConfig } from './config';
import type { Logger } from './logger';
import type { ManifestStore } from './manifests';
import type { UploadStore } from './uploads';

/** The registry's storage-facing parts, shared by every request. */
export interface RegistryParts {
  config: RegistryConfig;
  driver: StorageDriver;
  blobs: BlobStore;
  uploads: UploadStore;
  manifests: ManifestStore;
  logger: Logger;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  /** The repository name, already checked against the spec's pattern. */
  name: string;
  /** The last path segment of the route (digest, reference or upload id), percent-decoded. */
  target: string;
  parts: RegistryParts;
}
