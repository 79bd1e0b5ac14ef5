// The ESM entry (the `import` condition) re-exports the CommonJS build, so that `import` and
// `require` share one copy of the module: one middleware registry, one set of classes for instanceof.
export * from './index.js';
