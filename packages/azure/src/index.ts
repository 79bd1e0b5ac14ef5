export { AzureDriver } from './driver';
export { azureDriverFactory } from './factory';
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
