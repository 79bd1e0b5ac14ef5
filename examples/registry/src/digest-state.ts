/**
 * The running sha256 of an upload, kept in this process between the upload's requests, so that
 * the closing PUT knows the digest without reading the blob back. It is Node's sha256 (OpenSSL,
 * which uses the CPU's SHA extensions): several times faster than a hash whose state can be
 * serialised (hash-wasm's WebAssembly sha256, which this registry used to persist after every
 * request, cost more CPU per push than everything else together; see `npm run bench:registry`).
 *
 * A state covers a prefix of the upload's stored bytes (bytes are hashed only after they are
 * stored, and uploads only grow), so it stays valid whatever another process appends; a request
 * that finds none in step continues storing without hashing, and the closing PUT hashes what the
 * state does not cover by reading it back after the commit, as distribution does when it has no
 * saved hash state.
 */
import { createHash, type Hash } from 'node:crypto';

/** A sha256 that has consumed the first `offset` bytes of an upload. */
export interface DigestState {
  hasher: Hash;
  offset: number;
}

/** How many uploads' states one process keeps; the oldest go first (an evicted upload is re-read at its PUT). */
const MAX_KEPT_STATES = 10_000;

function freshDigestState(): DigestState {
  return { hasher: createHash('sha256'), offset: 0 };
}

/** The states of the uploads this process has served, by repository and upload id. */
export class DigestStates {
  private readonly states = new Map<string, DigestState>();

  constructor(private readonly limit = MAX_KEPT_STATES) {}

  /**
   * Takes the upload's state (it is this request's until given back with keep()): the kept one when
   * it covers no more than `size` stored bytes, else a fresh one at 0.
   */
  take(name: string, id: string, size: number): DigestState {
    const key = keyOf(name, id);
    const state = this.states.get(key);
    this.states.delete(key);
    return state && state.offset <= size ? state : freshDigestState();
  }

  /** Keeps the upload's state for its next request. */
  keep(name: string, id: string, state: DigestState): void {
    const key = keyOf(name, id);
    this.states.delete(key);
    this.states.set(key, state);
    if (this.states.size > this.limit) this.states.delete(this.states.keys().next().value!);
  }

  /** Forgets the upload (completed or cancelled). */
  forget(name: string, id: string): void {
    this.states.delete(keyOf(name, id));
  }

  get size(): number {
    return this.states.size;
  }
}

function keyOf(name: string, id: string): string {
  return `${name}\n${id}`;
}
