/**
 * Unfinished uploads are uncommitted blocks of the target blob itself: Azure keeps them next to
 * the blob (up to 100,000), never shows them through Get Blob, Get Blob Properties or a default
 * listing, and drops them all when the blob is next committed, replaced or deleted (or 7 days
 * after the last block was staged). Everything a new process needs to resume an upload is in the
 * ids of those blocks. Each id is 40 ASCII characters before base64 (Azure wants the ids of one
 * blob to be of equal length), fixed-width fields in this order:
 *
 *   stw1 | mode 1 | created 9 | nonce 6 | kind 1 | seq 6 | session 4 | stamp 9
 *
 * - `mode`: `n`, the upload's blocks are the whole content; `a`, they follow the blob's committed
 *   block list (an append to content this driver committed in blocks).
 * - `created` + `nonce`: the upload. writer(P, false) starts a new one; the newest upload on a
 *   blob is its unfinished upload, older ones are leftovers that the next commit drops.
 * - `kind`: `d` data, or `m` a marker that only says the upload exists (an upload closed before
 *   it had any bytes).
 * - `seq`: the block's place in the upload; `session`: which writer session staged it (a resumed
 *   writer uses one more than any seen). For each seq the block of the latest session counts, and
 *   the upload is the run of seqs from 0 whose sessions never decrease: blocks a failed session
 *   staged past a gap can never be mistaken for content.
 * - `stamp`: when the block was staged (ms), so purgeUploads knows an upload's last write.
 *
 * Numbers are base 36, zero-padded, so ids of one upload sort by seq.
 */

const FORMAT = 'stw1';
const ID_LENGTH = 40;
const WIDTH = { created: 9, nonce: 6, seq: 6, session: 4, stamp: 9 } as const;

export type UploadMode = 'n' | 'a';
export type BlockKind = 'd' | 'm';

/** Largest seq and session the id has room for. */
export const MAX_SEQ = 36 ** WIDTH.seq - 1;
export const MAX_SESSION = 36 ** WIDTH.session - 1;

export interface UploadId {
  mode: UploadMode;
  /** When the upload started (ms since the epoch, the writer's clock). */
  created: number;
  nonce: string;
}

export interface ParsedBlockId extends UploadId {
  kind: BlockKind;
  seq: number;
  session: number;
  stamp: number;
}

/** A block as Get Block List reports it. */
export interface ListedBlock {
  /** The base64 id. */
  name: string;
  size: number;
}

function pad36(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 36 ** width) throw new RangeError(`block id field out of range: ${value}`);
  return value.toString(36).padStart(width, '0');
}

function randomNonce(): string {
  let nonce = '';
  for (let i = 0; i < WIDTH.nonce; i++) nonce += Math.floor(Math.random() * 36).toString(36);
  return nonce;
}

export function newUploadId(mode: UploadMode, now = Date.now()): UploadId {
  return { mode, created: now, nonce: randomNonce() };
}

/** A stable text key of an upload, equal for all of its blocks. */
export function uploadKey(upload: UploadId): string {
  return `${upload.mode}${pad36(upload.created, WIDTH.created)}${upload.nonce}`;
}

/** Newer uploads first: by start time, then nonce (ties between processes are broken arbitrarily but alike everywhere). */
export function compareUploadsNewestFirst(a: UploadId, b: UploadId): number {
  if (a.created !== b.created) return b.created - a.created;
  if (a.nonce !== b.nonce) return a.nonce < b.nonce ? 1 : -1;
  return a.mode === b.mode ? 0 : a.mode < b.mode ? 1 : -1;
}

export function sameUpload(a: UploadId, b: UploadId): boolean {
  return a.mode === b.mode && a.created === b.created && a.nonce === b.nonce;
}

export function blockId(upload: UploadId, kind: BlockKind, seq: number, session: number, stamp = Date.now()): string {
  const text = `${FORMAT}${uploadKey(upload)}${kind}${pad36(seq, WIDTH.seq)}${pad36(session, WIDTH.session)}${pad36(stamp, WIDTH.stamp)}`;
  return Buffer.from(text, 'latin1').toString('base64');
}

const ID_PATTERN = /^stw1([na])([0-9a-z]{9})([0-9a-z]{6})([dm])([0-9a-z]{6})([0-9a-z]{4})([0-9a-z]{9})$/;

/** The fields of one of our block ids, or undefined for any other id. */
export function parseBlockId(id: string): ParsedBlockId | undefined {
  let text: string;
  try {
    text = Buffer.from(id, 'base64').toString('latin1');
  } catch {
    return undefined;
  }
  if (text.length !== ID_LENGTH) return undefined;
  const m = ID_PATTERN.exec(text);
  if (!m) return undefined;
  return {
    mode: m[1] as UploadMode,
    created: parseInt(m[2]!, 36),
    nonce: m[3]!,
    kind: m[4] as BlockKind,
    seq: parseInt(m[5]!, 36),
    session: parseInt(m[6]!, 36),
    stamp: parseInt(m[7]!, 36),
  };
}

/** True when every id is one of ours (so new blocks of ours can join them in one block list). */
export function allOurs(blocks: readonly ListedBlock[]): boolean {
  return blocks.every((b) => parseBlockId(b.name) !== undefined);
}

/** What the uncommitted blocks say about one upload. */
export interface StagedUpload {
  upload: UploadId;
  /** The upload's content blocks, in order (base64 ids). */
  chain: string[];
  /** Bytes in `chain`. */
  chainSize: number;
  /** The seq the next block gets. */
  nextSeq: number;
  /** The session number a writer resuming this upload uses. */
  nextSession: number;
  /** The latest stamp of any of its blocks (ms). */
  lastWrite: number;
  /** How many uncommitted blocks it has, content or not. */
  blockCount: number;
}

export interface StagedUploads {
  /** The newest upload, the one writer(P, true) resumes; undefined when the blob has none of ours. */
  current?: StagedUpload;
  /** Every upload found, newest first. */
  all: StagedUpload[];
  /** Uncommitted blocks whose ids are not ours (another tool's); the next commit drops them. */
  foreignBlocks: number;
}

/** Groups a blob's uncommitted blocks by upload and works out each upload's content. */
export function analyseUncommitted(uncommitted: readonly ListedBlock[]): StagedUploads {
  const groups = new Map<string, { upload: UploadId; blocks: Array<ParsedBlockId & { name: string; size: number }> }>();
  let foreignBlocks = 0;
  for (const block of uncommitted) {
    const parsed = parseBlockId(block.name);
    if (!parsed) {
      foreignBlocks++;
      continue;
    }
    const key = uploadKey(parsed);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { upload: { mode: parsed.mode, created: parsed.created, nonce: parsed.nonce }, blocks: [] }));
    group.blocks.push({ ...parsed, name: block.name, size: block.size });
  }
  const all = [...groups.values()].map(({ upload, blocks }) => summarise(upload, blocks)).sort((a, b) => compareUploadsNewestFirst(a.upload, b.upload));
  return { current: all[0], all, foreignBlocks };
}

function summarise(upload: UploadId, blocks: Array<ParsedBlockId & { name: string; size: number }>): StagedUpload {
  // For each seq, the block of the latest session.
  const bySeq = new Map<number, ParsedBlockId & { name: string; size: number }>();
  let maxSession = 0;
  let lastWrite = 0;
  for (const block of blocks) {
    maxSession = Math.max(maxSession, block.session);
    lastWrite = Math.max(lastWrite, block.stamp);
    if (block.kind !== 'd') continue;
    const seen = bySeq.get(block.seq);
    if (!seen || block.session > seen.session) bySeq.set(block.seq, block);
  }
  const chain: string[] = [];
  let chainSize = 0;
  let session = 0;
  for (let seq = 0; ; seq++) {
    const block = bySeq.get(seq);
    // A gap, or a block from a session older than its predecessor's, ends the content.
    if (!block || block.session < session) break;
    session = block.session;
    chain.push(block.name);
    chainSize += block.size;
  }
  return { upload, chain, chainSize, nextSeq: chain.length, nextSession: maxSession + 1, lastWrite, blockCount: blocks.length };
}
