/**
 * Size profiles. 'full' uses distribution's sizes; 'standard' shrinks only the large stream so
 * a run stays short on slow backends; 'quick' shrinks everything for local iteration.
 */
import { GiB, KiB, MiB } from '@stowage/core';
import type { SizeProfile, SizeProfileName } from '../options';

/** Resume chunk sizes from the issue: around S3's 5 MiB minimum part size, and tiny ones. */
const RESUME_CHUNK_SIZES = [1, 32, 4 * KiB, 5 * MiB - 1, 5 * MiB + 1, 10 * MiB];

const FULL: SizeProfile = {
  largeStream: 5 * GiB,
  concurrentReadsFileSize: 128 * MiB,
  concurrentStreams: 32,
  // distribution: each of the 32 streams is numStreams * 1 MiB.
  concurrentStreamSize: 32 * MiB,
  appendLargeChunk: 10 * MiB,
  resumeChunkSizes: RESUME_CHUNK_SIZES,
  resumeSessions: 3,
};

export const PROFILES: Record<SizeProfileName, SizeProfile> = {
  full: FULL,
  standard: { ...FULL, largeStream: 256 * MiB },
  quick: {
    largeStream: 16 * MiB,
    concurrentReadsFileSize: 8 * MiB,
    concurrentStreams: 8,
    concurrentStreamSize: 1 * MiB,
    appendLargeChunk: 1 * MiB,
    resumeChunkSizes: [1, 32, 4 * KiB, 256 * KiB + 1],
    resumeSessions: 3,
  },
};

/** The environment variable that, when set, replaces the profile name given in the options. */
export const PROFILE_ENV_VAR = 'STOWAGE_CONFORMANCE_PROFILE';

function isProfileName(value: unknown): value is SizeProfileName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PROFILES, value);
}

function copyProfile(profile: SizeProfile): SizeProfile {
  return { ...profile, resumeChunkSizes: [...profile.resumeChunkSizes] };
}

function checkProfile(profile: SizeProfile): SizeProfile {
  const counts: Array<keyof SizeProfile> = [
    'largeStream',
    'concurrentReadsFileSize',
    'concurrentStreams',
    'concurrentStreamSize',
    'appendLargeChunk',
    'resumeSessions',
  ];
  for (const key of counts) {
    const value = profile[key];
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw new RangeError(`size profile: ${key} must be a positive integer, got ${String(value)}`);
  }
  if (!Array.isArray(profile.resumeChunkSizes) || profile.resumeChunkSizes.length === 0) {
    throw new RangeError('size profile: resumeChunkSizes must be a non-empty array');
  }
  for (const size of profile.resumeChunkSizes) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`size profile: resume chunk size must be a positive integer, got ${String(size)}`);
  }
  return profile;
}

/**
 * A profile by name, or explicit sizes merged over 'standard'. Default 'standard'.
 * Throws a RangeError for an unknown name or a malformed size.
 */
export function resolveProfile(profile?: SizeProfileName | Partial<SizeProfile>): SizeProfile {
  if (profile === undefined) return copyProfile(PROFILES.standard);
  if (typeof profile === 'string') {
    if (!isProfileName(profile)) throw new RangeError(`unknown size profile ${JSON.stringify(profile)} (known: ${Object.keys(PROFILES).join(', ')})`);
    return copyProfile(PROFILES[profile]);
  }
  return checkProfile(copyProfile({ ...PROFILES.standard, ...definedOnly(profile) }));
}

/**
 * The profile describeConformance runs with. STOWAGE_CONFORMANCE_PROFILE (quick, standard or full),
 * when set, replaces the profile *name*: it wins over a name in the options, and explicit sizes
 * given in the options are merged over it instead of over 'standard'. So CI can switch every
 * suite to 'full' without editing test files, while a driver's explicit limits still apply.
 */
export function effectiveProfile(
  profile: SizeProfileName | Partial<SizeProfile> | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { profile: SizeProfile; label: string } {
  const fromEnv = env[PROFILE_ENV_VAR];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isProfileName(fromEnv)) throw new RangeError(`${PROFILE_ENV_VAR}=${fromEnv}: unknown size profile (known: ${Object.keys(PROFILES).join(', ')})`);
    if (typeof profile === 'object') {
      return {
        profile: checkProfile(copyProfile({ ...PROFILES[fromEnv], ...definedOnly(profile) })),
        label: `${fromEnv} profile with overrides, from ${PROFILE_ENV_VAR}`,
      };
    }
    return { profile: copyProfile(PROFILES[fromEnv]), label: `${fromEnv} profile, from ${PROFILE_ENV_VAR}` };
  }
  if (typeof profile === 'object') return { profile: resolveProfile(profile), label: 'standard profile with overrides' };
  return { profile: resolveProfile(profile), label: `${profile ?? 'standard'} profile` };
}

function definedOnly(partial: Partial<SizeProfile>): Partial<SizeProfile> {
  const out: Partial<SizeProfile> = {};
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}
