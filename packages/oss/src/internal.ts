/**
 * Not part of the public API: the driver's building blocks and what this repository's own tests
 * reach inside it. May change in any release.
 */
export { ossDriverInternals, encryptionHeaders, type OssDriverInternals } from './driver';
export { OssStore, DELETE_BATCH, LIST_PAGE, parseContentRange, skipBytes, type OssStoreSettings } from './store';
export { buildOssClient, requestContext, type OssClient, type OssClientSettings } from './client';
export { mapOssError, isOssNotFound, isOssNoSuchUpload, isOssInvalidRange, isTransientOssError, ossErrorCode, ossStatus } from './errors';
