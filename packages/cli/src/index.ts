/**
 * @stowage/cli: the `stowage` command. The program is also callable from code (`runCli`), with
 * its own streams, and its pieces that other tools may want are exported.
 */
export { runCli, type CliIO, type CommandContext } from './program';
export { resolveDriverSpec, loadDriverModules, buildDriver, type DriverOptions, type DriverSpec } from './driver-source';
export { readStorageSection, type StorageSection } from './config-file';
export { verifyRegistry, manifestReferences, type Problem, type ProblemKind, type VerifySummary, type VerifyHooks } from './verify/registry-check';
export { benchHtml, DRIVER_COLOUR, BASELINE_COLOUR } from './bench/html-report';
export { ExitCode, UsageError } from './errors';
