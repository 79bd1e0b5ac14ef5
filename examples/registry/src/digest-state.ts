/**
 * The running sha256 of an upload, persisted after every request so that the digest survives
 * across requests and processes without re-reading the blob (distribution's "hashstates"). Node's
 * crypto hashes cannot be serialised; hash-wasm's can (save()/load()), so each saved state is the
 * bytes of `hasher.save()` in a file named by the upload offset it covers.
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import type { StorageDriver } from '@stowage/core';
import { hashStatePath, hashStatesDir } from './layout';
import { deleteIfPresent, listIfPresent } from './links';

/** A sha256 that has consumed the first `offset` bytes of an upload. */
export interface DigestState {
  hasher: IHasher;
  offset: number;
}

export async function freshDigestState(): Promise<DigestState> {
  const hasher = await createSHA256();
  hasher.init();
  return { hasher, offset: 0 };
}

/** The saved offsets of an upload, ascending. */
async function savedOffsets(driver: StorageDriver, name: string, id: string): Promise<number[]> {
  const paths = await listIfPresent(driver, hashStatesDir(name, id));
  return paths
    .map((path) => path.slice(path.lastIndexOf('/') + 1))
    .filter((offset) => /^(0|[1-9][0-9]*)$/.test(offset))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * The latest saved state at or below `size` (the upload's stored bytes), or a fresh one at 0. Its
 * offset is below `size` when a request stored bytes but died before saving the state after them.
 */
export async function loadDigestState(driver: StorageDriver, name: string, id: string, size: number): Promise<DigestState> {
  const offsets = (await savedOffsets(driver, name, id)).filter((offset) => offset <= size);
  for (const offset of offsets.reverse()) {
    try {
      const state = await freshDigestState();
      state.hasher.load(await driver.getContent(hashStatePath(name, id, offset)));
      state.offset = offset;
      return state;
    } catch {
      // a torn or foreign state file: fall back to an earlier one
    }
  }
  return freshDigestState();
}

/** Saves `state` and removes the older states (only the latest is ever needed). */
export async function saveDigestState(driver: StorageDriver, name: string, id: string, state: DigestState): Promise<void> {
  await driver.putContent(hashStatePath(name, id, state.offset), state.hasher.save());
  for (const offset of await savedOffsets(driver, name, id)) {
    if (offset < state.offset) await deleteIfPresent(driver, hashStatePath(name, id, offset));
  }
}
