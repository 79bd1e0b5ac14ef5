/**
 * The Stowage conformance suite: `describeConformance` registers mocha suites that check a
 * StorageDriver against the contract — distribution's own driver tests, ported, and what they
 * leave out (resume from a new instance, cancel, invisibility of uncommitted content, path and
 * offset validation, AbortSignal, concurrency, one live writer per upload, move/delete isolation, walk order, modTime).
 *
 * Size profile: options.profile, or the STOWAGE_CONFORMANCE_PROFILE environment variable
 * (quick | standard | full), which replaces the profile name when set — see effectiveProfile.
 */
import type { StorageDriver } from '@stowage/core';
import type { ConformanceOptions } from '../options';
import { registerAbortTests } from './abort';
import { registerConcurrencyTests } from './concurrency';
import { registerDistributionTests } from './distribution';
import { registerFencingTests } from './fencing';
import { Harness } from './harness';
import { effectiveProfile } from './profiles';
import { registerSemanticsTests } from './semantics';
import { registerUploadTests } from './uploads';
import { registerValidationTests } from './validation';

export { PROFILES, resolveProfile, effectiveProfile, PROFILE_ENV_VAR } from './profiles';

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Registers the conformance suite for one driver with mocha (call it at the top level of a test
 * file, where `describe` and `it` are defined). `createDriver` runs once, in a before() hook; every
 * test then works below its own random prefix and must leave nothing behind.
 */
export function describeConformance(name: string, createDriver: () => StorageDriver | Promise<StorageDriver>, options: ConformanceOptions = {}): void {
  const { profile, label } = effectiveProfile(options.profile);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const harness = new Harness({ options, profile });

  describe(`${name}: conformance (${label})`, function () {
    this.timeout(timeoutMs);
    before(async () => {
      await harness.start(createDriver);
    });
    registerDistributionTests(harness);
    registerUploadTests(harness);
    registerValidationTests(harness);
    registerAbortTests(harness);
    registerConcurrencyTests(harness);
    registerFencingTests(harness);
    registerSemanticsTests(harness);
  });
}
