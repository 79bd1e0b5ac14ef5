/**
 * Not part of the public API: hooks for this repository's own fault-injection tests. May change
 * in any release.
 */
export { durability } from './fs-util';
