import type { StorageDriver } from '@stowage/core';

/**
 * What a driver can do beyond the baseline contract; the suite tests a capability only when it is
 * on. Each defaults to the driver's own declaration (`driver.supports`); set one here to override it.
 */
export interface ConformanceCapabilities {
  /** redirectURL returns URLs (not null); the suite fetches them with plain fetch and compares. */
  redirect?: boolean;
}

/** Sizes the suite uses. 'full' follows distribution; smaller profiles keep slow backends inside CI's time. */
export interface SizeProfile {
  /** WriteReadLargeStreams: 5 GiB in 'full', past every 32-bit and single-Buffer limit. */
  largeStream: number;
  /** ConcurrentStreamReads: the file read by 10 concurrent readers (128 MiB in 'full'). */
  concurrentReadsFileSize: number;
  /** ConcurrentFileStreams: how many streams at once (32) and the size of each. */
  concurrentStreams: number;
  concurrentStreamSize: number;
  /** ContinueStreamAppendLarge: chunk size (10 MiB). */
  appendLargeChunk: number;
  /** Resume-from-new-instance tests: chunk sizes, each written over `resumeSessions` sessions. */
  resumeChunkSizes: number[];
  resumeSessions: number;
}

export type SizeProfileName = 'quick' | 'standard' | 'full';

export interface ConformanceOptions {
  capabilities?: ConformanceCapabilities;
  /** A profile name or explicit sizes (merged over 'standard'). Default 'standard'. */
  profile?: SizeProfileName | Partial<SizeProfile>;
  /**
   * A second driver instance over the same storage as `driver` (a new client, as a new process
   * would have). Needed by the resume-from-new-instance tests; without it they are skipped, saying why.
   */
  newInstance?: (driver: StorageDriver) => StorageDriver | Promise<StorageDriver>;
  /**
   * Anything the driver keeps for paths at or below `prefix` that the public API does not show
   * (staged uploads, temp files). The suite checks it is empty after cancel and after every test.
   * Default: the driver's own `leftovers(prefix)` when it has one (see core's LeftoverInspector).
   */
  leftovers?: (driver: StorageDriver, prefix: string) => Promise<string[]>;
  /** The coarsest modTime step the backend records (1000 for S3's Last-Modified); default 1000. */
  modTimeResolutionMs?: number;
  /**
   * The run injects network faults (a fault proxy, chaos middleware). A stream read cut short
   * while its file is being replaced cannot finish: the version it was reading is gone, so the
   * retry middleware fails it rather than splice two versions. With this set, the rewrite test
   * counts such a read, failing with a transient error, as no read; bytes that are neither
   * version still fail it. Default false: without faults every read must succeed.
   */
  faultsInjected?: boolean;
  /** Per-test mocha timeout in milliseconds; default 10 minutes. */
  timeoutMs?: number;
}
