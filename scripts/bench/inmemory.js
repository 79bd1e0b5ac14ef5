'use strict';
/** Bench setup for --driver inmemory: the driver next to plain Buffer copies. */
const bench = require('@stowage/conformance/bench');

async function setUp() {
  const { InMemoryDriver } = require('@stowage/inmemory');
  return {
    driver: new InMemoryDriver(),
    baseline: bench.bufferBaseline(),
    // The in-memory driver keeps what it stores in RSS: the bound applies to what it adds on top.
    contentInProcess: true,
    describe: 'in-process memory',
    async tearDown() {},
  };
}

module.exports = { setUp };
