export { OssDriver, encryptionHeaders } from './driver';
export { ossDriverFactory } from './factory';
export { OssStore, DELETE_BATCH, LIST_PAGE, parseContentRange, skipBytes, type OssStoreSettings } from './store';
export { buildOssClient, requestContext, type OssClient, type OssClientSettings } from './client';
export { mapOssError, isOssNotFound, isOssNoSuchUpload, isOssInvalidRange, isTransientOssError, ossErrorCode, ossStatus } from './errors';
export * from './options';
