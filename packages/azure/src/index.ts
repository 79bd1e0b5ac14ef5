export { AzureDriver } from './driver';
export { AzureFileWriter, BlockStager, MAX_COMMITTED_BLOCKS } from './writer';
export { azureDriverFactory } from './factory';
export { BlobLayout } from './layout';
// The pieces below are exported for tests and tooling (inspecting what a container holds).
export {
  analyseUncommitted,
  dataBlockId,
  liveness,
  newSession,
  newUploadId,
  openMarkerId,
  parseBlockId,
  type ListedBlock,
  type ParsedBlockId,
  type SessionId,
  type StagedUpload,
  type StagedUploads,
  type UploadId,
} from './blocks';
export { waitForCopy, type CopyOutcome, type CopyProgress } from './copy';
export { mapAzureError } from './errors';
export {
  DRIVER_NAME,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_COPY_STATUS_POLL_DELAY_MS,
  DEFAULT_COPY_STATUS_POLL_MAX_RETRY,
  DEFAULT_REALM,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_UPLOAD_CONCURRENCY,
  MAX_SINGLE_PUT_SIZE,
  type AzureCredentials,
  type AzureDriverOptions,
} from './options';
