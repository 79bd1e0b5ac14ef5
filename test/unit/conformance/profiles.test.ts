import { MiB, GiB } from '@stowage/core';
import assert from 'node:assert/strict';
import { PROFILES, resolveProfile } from '@stowage/conformance';
import { profiles } from './load';

describe('conformance: size profiles', () => {
  it("'full' is distribution's sizes", () => {
    assert.deepEqual(PROFILES.full, {
      largeStream: 5 * GiB,
      concurrentReadsFileSize: 128 * MiB,
      concurrentStreams: 32,
      concurrentStreamSize: 32 * MiB,
      appendLargeChunk: 10 * MiB,
      resumeChunkSizes: [1, 32, 4096, 5 * MiB - 1, 5 * MiB + 1, 10 * MiB],
      resumeSessions: 3,
    });
  });

  it("'standard' differs from 'full' only by a smaller large stream", () => {
    const { largeStream, ...rest } = PROFILES.standard;
    const { largeStream: fullLarge, ...fullRest } = PROFILES.full;
    assert.deepEqual(rest, fullRest);
    assert.ok(largeStream < fullLarge && largeStream >= 128 * MiB, `standard largeStream ${largeStream}`);
  });

  it("'quick' is no bigger than 'standard' anywhere and keeps at least 3 resume sessions", () => {
    for (const key of ['largeStream', 'concurrentReadsFileSize', 'concurrentStreams', 'concurrentStreamSize', 'appendLargeChunk'] as const) {
      assert.ok(PROFILES.quick[key] <= PROFILES.standard[key], key);
    }
    assert.ok(Math.max(...PROFILES.quick.resumeChunkSizes) <= Math.max(...PROFILES.standard.resumeChunkSizes));
    assert.ok(PROFILES.quick.resumeSessions >= 3);
    assert.deepEqual(PROFILES.quick.resumeChunkSizes.slice(0, 3), [1, 32, 4096], 'the tiny chunk sizes stay');
  });

  it("resolveProfile defaults to 'standard' and returns copies", () => {
    const resolved = resolveProfile();
    assert.deepEqual(resolved, PROFILES.standard);
    resolved.resumeChunkSizes.push(7);
    resolved.largeStream = 1;
    assert.notEqual(PROFILES.standard.largeStream, 1);
    assert.ok(!PROFILES.standard.resumeChunkSizes.includes(7));
    assert.deepEqual(resolveProfile('full'), PROFILES.full);
    assert.deepEqual(resolveProfile('quick'), PROFILES.quick);
  });

  it("merges explicit sizes over 'standard', ignoring undefined", () => {
    const resolved = resolveProfile({ largeStream: 64 * MiB, resumeChunkSizes: [1, 2], concurrentStreams: undefined });
    assert.deepEqual(resolved, { ...PROFILES.standard, largeStream: 64 * MiB, resumeChunkSizes: [1, 2] });
  });

  it('rejects unknown names and malformed sizes with a RangeError', () => {
    assert.throws(
      () => resolveProfile('huge' as 'full'),
      (err: unknown) => err instanceof RangeError && /huge/.test(err.message),
    );
    assert.throws(() => resolveProfile({ largeStream: -1 }), RangeError);
    assert.throws(() => resolveProfile({ concurrentStreams: 1.5 }), RangeError);
    assert.throws(() => resolveProfile({ resumeChunkSizes: [] }), RangeError);
    assert.throws(() => resolveProfile({ resumeChunkSizes: [0] }), RangeError);
  });

  describe('STOWAGE_CONFORMANCE_PROFILE', () => {
    const { effectiveProfile, PROFILE_ENV_VAR } = profiles;

    it('is the name of the variable', () => assert.equal(PROFILE_ENV_VAR, 'STOWAGE_CONFORMANCE_PROFILE'));

    it('replaces the profile name given in the options', () => {
      const got = effectiveProfile('standard', { STOWAGE_CONFORMANCE_PROFILE: 'full' });
      assert.deepEqual(got.profile, PROFILES.full);
      assert.match(got.label, /^full\b.*STOWAGE_CONFORMANCE_PROFILE/);
      assert.deepEqual(effectiveProfile(undefined, { STOWAGE_CONFORMANCE_PROFILE: 'quick' }).profile, PROFILES.quick);
    });

    it('becomes the base under explicit sizes, which still win', () => {
      const got = effectiveProfile({ largeStream: 3 * MiB }, { STOWAGE_CONFORMANCE_PROFILE: 'quick' });
      assert.deepEqual(got.profile, { ...PROFILES.quick, largeStream: 3 * MiB });
    });

    it('is ignored when unset or empty, and rejected when unknown', () => {
      assert.deepEqual(effectiveProfile('quick', {}).profile, PROFILES.quick);
      assert.equal(effectiveProfile('quick', {}).label, 'quick profile');
      assert.deepEqual(effectiveProfile(undefined, { STOWAGE_CONFORMANCE_PROFILE: '' }).profile, PROFILES.standard);
      assert.throws(() => effectiveProfile('quick', { STOWAGE_CONFORMANCE_PROFILE: 'FULL' }), /STOWAGE_CONFORMANCE_PROFILE=FULL/);
    });
  });
});
