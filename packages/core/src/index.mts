// The ESM entry (the package's `import` condition) re-exports the CommonJS build, so that
// `import` and `require` share one copy of the module: one driver registry, one set of classes.
export * from './index.js';
