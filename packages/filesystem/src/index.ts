export { FilesystemDriver, DRIVER_NAME, DEFAULT_ROOT_DIRECTORY, DEFAULT_MAX_THREADS, type FilesystemDriverOptions } from './driver';
export { filesystemDriverFactory, MIN_MAX_THREADS } from './factory';
export { STAGING_DIR_NAME } from './layout';
