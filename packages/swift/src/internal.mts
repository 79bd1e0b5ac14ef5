// The ESM entry (the `import` condition) re-exports the CommonJS build, so that `import` and
// `require` share one copy of the module: one driver registry, one set of classes for instanceof.
export * from './internal.js';
