import { describeConformance } from '@stowage/conformance';
import { InMemoryDriver } from '@stowage/inmemory';

// The reference driver runs the 'standard' profile: its content lives in RAM, so distribution's
// 5 GiB large stream would only measure the allocator.
describeConformance('inmemory', () => new InMemoryDriver(), {
  profile: 'standard',
  newInstance: (driver) => new InMemoryDriver({ store: (driver as InMemoryDriver).store }),
  modTimeResolutionMs: 5,
});
