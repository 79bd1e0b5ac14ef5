/**
 * @stowage/example-registry: an OCI distribution-spec v1.1 registry whose storage is a Stowage
 * driver, in distribution's storage layout. Start it with `stowage-registry serve config.yml`, or
 * from code with `startRegistry(parseConfig(text))`.
 */
export { startRegistry, type RunningRegistry, type StartOptions } from './server';
export { loadConfig, parseConfig, ConfigError, type RegistryConfig, type LogLevel } from './config';
export { createLogger, type Logger, type LogFields } from './logger';
export { purgeOldUploads, type PurgeResult } from './maintenance';
export { RegistryError, type ErrorCode } from './errors';
export { MediaType, MAX_MANIFEST_BYTES } from './manifest';
export * as layout from './layout';
