'use strict';
/**
 * One library's round of `npm run bench -- --peers`, in a process of its own (forked by run.js
 * with --expose-gc): receives the task over IPC, runs every selected workload once in order
 * (runBenchmarkRound), sends the figures back and exits. Progress goes to stderr.
 */
const bench = require('@stowage/conformance/bench');
const { SETUPS } = require('./libraries.js');

async function runTask(task) {
  const setup = await SETUPS[task.library].setUp(task);
  try {
    const gc = typeof globalThis.gc === 'function' ? globalThis.gc : undefined;
    const result = await bench.runBenchmarkRound(setup.target, {
      names: task.names,
      largeSize: task.largeSize,
      chunkSize: task.chunkSize,
      quick: task.quick,
      seed: task.seed,
      ...(gc ? { gc: () => gc() } : {}),
      log: (line) => process.stderr.write(`[bench] round ${task.round} ${task.library}: ${line}\n`),
    });
    return { name: setup.target.name, describe: setup.describe, result };
  } finally {
    await setup.tearDown();
  }
}

process.once('message', (task) => {
  const send = (message) =>
    process.send?.(message, () => {
      process.disconnect();
      // A native library's threads must not keep a finished worker alive.
      setTimeout(() => process.exit(0), 2000).unref();
    });
  runTask(task).then(
    (outcome) => send({ ok: true, ...outcome }),
    (err) => send({ ok: false, error: err && err.stack ? err.stack : String(err) }),
  );
});
