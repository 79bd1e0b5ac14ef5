/**
 * Not part of the public API: hooks for this repository's own fault-injection tests and the
 * driver's writer class. May change in any release.
 */
export { durability } from './fs-util';
export { FilesystemFileWriter } from './writer';
