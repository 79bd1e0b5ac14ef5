#!/usr/bin/env node
'use strict';
/**
 * `npm run bench:middleware [-- --rounds N --ops N --size BYTES]`
 *
 * The cost of the instrument middleware on the in-memory driver (where the driver itself costs
 * least, so the overhead shows most): putContent and getContent ops/s for the bare driver, the
 * instrumented one without an OpenTelemetry SDK (the API's no-op), and the instrumented one with
 * the plain event hook. The variants run in interleaved rounds (so drift hits each alike); the
 * medians and their ratio to the bare driver are printed. Runs after `tsc -b`.
 */
const { parseArgs } = require('node:util');
const { InMemoryDriver } = require('@stowage/inmemory');
const { InstrumentMiddleware } = require('@stowage/middleware');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ops: { type: 'string', default: '20000' },
    size: { type: 'string', default: '1024' },
  },
});
const rounds = Number(values.rounds);
const ops = Number(values.ops);
const content = Buffer.alloc(Number(values.size), 0x61);

let hooked = 0;
const variants = [
  { name: 'bare', driver: new InMemoryDriver() },
  { name: 'instrument (no SDK)', driver: new InstrumentMiddleware(new InMemoryDriver()) },
  {
    name: 'instrument + onEvent',
    driver: new InstrumentMiddleware(new InMemoryDriver(), {
      onEvent: () => {
        hooked++;
      },
    }),
  },
];

/** Ops per second of `ops` sequential calls of `call(i)`. */
async function rate(call) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await call(i);
  return ops / (Number(process.hrtime.bigint() - started) / 1e9);
}

const median = (numbers) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function main() {
  /** @type {Map<string, { put: number[], get: number[] }>} */
  const results = new Map(variants.map((variant) => [variant.name, { put: [], get: [] }]));
  // One warm-up round, not counted.
  for (let round = 0; round <= rounds; round++) {
    for (const { name, driver } of variants) {
      const put = await rate((i) => driver.putContent(`/bench/f${i % 1000}`, content));
      const get = await rate((i) => driver.getContent(`/bench/f${i % 1000}`));
      const result = results.get(name);
      if (round > 0 && result) {
        result.put.push(put);
        result.get.push(get);
      }
    }
  }
  const bare = results.get('bare');
  if (!bare) throw new Error('no bare variant');
  console.log(`instrument overhead on inmemory: ${rounds} interleaved rounds of ${ops} sequential ops, ${content.length} B, medians (node ${process.version})`);
  console.log('variant'.padEnd(24) + 'put ops/s'.padStart(12) + 'ratio'.padStart(8) + 'get ops/s'.padStart(12) + 'ratio'.padStart(8));
  for (const [name, { put, get }] of results) {
    const row = [
      name.padEnd(24),
      median(put).toFixed(0).padStart(12),
      (median(put) / median(bare.put)).toFixed(2).padStart(8),
      median(get).toFixed(0).padStart(12),
      (median(get) / median(bare.get)).toFixed(2).padStart(8),
    ];
    console.log(row.join(''));
  }
  if (hooked === 0) throw new Error('the event hook was never called');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
