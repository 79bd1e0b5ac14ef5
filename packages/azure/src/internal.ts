/**
 * Not part of the public API: the driver's building blocks, for this repository's own tests and
 * for tooling that inspects what a container holds. May change in any release.
 */
export { AzureFileWriter, BlockStager, MAX_COMMITTED_BLOCKS } from './writer';
export { BlobLayout } from './layout';
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
