/**
 * Deterministic test data whose every 4-byte word depends on the seed and on its absolute offset,
 * so no chunk ever repeats another (distribution's generator repeats itself, which hides offset
 * bugs). Any byte range can be regenerated on its own, which lets a 5 GiB stream be written and
 * verified without holding it in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { MiB } from '@stowage/core';

/** A 32-bit mix (murmur3's finaliser) of the seed and a word index. */
function mix(seed: number, wordIndex: number): number {
  let h = (seed ^ Math.imul(wordIndex >>> 0, 0x9e3779b1) ^ Math.imul(Math.floor(wordIndex / 0x100000000), 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class TestData {
  readonly seed: number;

  /** `size` bytes derived from `seed` (random when omitted). */
  constructor(
    readonly size: number,
    seed?: number,
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`TestData size must be a non-negative integer, got ${size}`);
    this.seed = seed ?? randomBytes(4).readUInt32LE(0);
  }

  /** The bytes at [offset, offset + length), clamped to the data's size. */
  slice(offset: number, length: number): Buffer {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return Buffer.alloc(0);
    const firstWord = Math.floor(offset / 4);
    const lastWord = Math.ceil(end / 4);
    const words = new Uint32Array(lastWord - firstWord);
    for (let i = 0; i < words.length; i++) words[i] = mix(this.seed, firstWord + i);
    const bytes = Buffer.from(words.buffer, words.byteOffset, words.byteLength);
    const start = offset - firstWord * 4;
    return bytes.subarray(start, start + (end - offset));
  }

  /** All of it (only for sizes that fit in memory). */
  all(): Buffer {
    return this.slice(0, this.size);
  }

  /** The bytes from `offset` on, as chunks of `chunkSize`. */
  *chunks(chunkSize: number, offset = 0): Generator<Buffer> {
    for (let at = offset; at < this.size; at += chunkSize) yield this.slice(at, chunkSize);
  }

  /** A Readable of the bytes from `offset` on, in chunks of `chunkSize` (default 1 MiB). */
  stream(chunkSize = MiB, offset = 0): Readable {
    return Readable.from(this.chunks(chunkSize, offset), { objectMode: false });
  }

  /** The sha256 (hex) of the bytes from `offset` on, computed without holding them. */
  sha256(offset = 0): string {
    const hash = createHash('sha256');
    for (const chunk of this.chunks(4 * MiB, offset)) hash.update(chunk);
    return hash.digest('hex');
  }
}

/** Random bytes (for tests that want no structure at all). */
export function randomContent(size: number): Buffer {
  return randomBytes(size);
}

const NAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random valid path component of `length` characters from [a-z0-9]. */
export function randomName(length = 16): string {
  const bytes = randomBytes(length);
  let name = '';
  for (const byte of bytes) name += NAME_ALPHABET[byte % NAME_ALPHABET.length];
  return name;
}

/** The sha256 (hex) of a stream's bytes and how many there were. */
export async function hashStream(stream: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
