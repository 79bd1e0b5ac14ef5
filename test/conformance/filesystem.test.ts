import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConformance } from '@stowage/conformance';
import { FilesystemDriver } from '@stowage/filesystem';

// A fresh temporary root per run, created when the suite starts and removed when it ends.
let root: string | undefined;
after(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

// 'full' (distribution's sizes: a 5 GiB large stream) unless STOWAGE_CONFORMANCE_PROFILE says
// otherwise; the suite applies that variable itself. CI runs this driver on the full profile.
describeConformance(
  'filesystem',
  async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-conformance-filesystem-'));
    return new FilesystemDriver({ rootDirectory: root });
  },
  {
    profile: 'full',
    // A new process would construct its own driver over the same root directory.
    newInstance: (driver) => {
      const original = driver as FilesystemDriver;
      return new FilesystemDriver({ rootDirectory: original.rootDirectory, maxThreads: original.maxThreads, syncOnCommit: original.syncOnCommit });
    },
    // ext4/xfs timestamps have nanosecond fields but follow the kernel's coarse clock (a few ms).
    modTimeResolutionMs: 20,
  },
);
