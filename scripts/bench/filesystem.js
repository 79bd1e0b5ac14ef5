'use strict';
/** Bench setup for --driver filesystem: the driver in a temp dir, raw Node fs in a sibling one. */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const bench = require('@stowage/conformance/bench');

async function makeTempDir(label) {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), `stowage-bench-${label}-`));
}

/** The driver under test, its baseline, and how to clean up both. */
async function setUp(cli) {
  const { FilesystemDriver } = require('@stowage/filesystem');
  const driverRoot = await makeTempDir('driver');
  // A sibling directory on the same filesystem, so both sides hit the same disk and page cache.
  const baselineRoot = await makeTempDir('baseline');
  const driver = new FilesystemDriver({ rootDirectory: driverRoot, ...(cli.driverFsync === undefined ? {} : { syncOnCommit: cli.driverFsync }) });
  // The same work on both sides: the baseline fsyncs exactly when the driver does, unless told otherwise.
  const durable = cli.baselineFsync ?? driver.syncOnCommit !== false;
  return {
    driver,
    baseline: bench.nodeFsBaseline(baselineRoot, { durable }),
    contentInProcess: false,
    describe: `driver root ${driverRoot} (fsync ${driver.syncOnCommit ? 'on' : 'off'}), baseline root ${baselineRoot} (fsync ${durable ? 'on' : 'off'})`,
    async tearDown() {
      await fs.promises.rm(driverRoot, { recursive: true, force: true });
      await fs.promises.rm(baselineRoot, { recursive: true, force: true });
    },
  };
}

module.exports = { setUp, options: ['driverFsync', 'baselineFsync'] };
