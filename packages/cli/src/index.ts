/**
 * @stowage/cli: the `stowage` command. The program is also callable from code (`runCli`), with
 * its own streams, and its pieces that other tools may want are exported.
 */
export { runCli, type CliIO } from './program';
export type { OutputStreams } from './output';
export { resolveDriverSpec, loadDriverModules, buildDriver, type DriverOptions, type DriverSpec } from './driver-source';
export { readStorageSection, type StorageSection } from './config-file';
export { verifyRegistry, type Problem, type ProblemKind, type VerifySummary, type VerifyHooks } from './verify/registry-check';
export { benchHtml, DRIVER_COLOUR, BASELINE_COLOUR } from './bench/html-report';
export { ExitCode, UsageError } from './errors';
