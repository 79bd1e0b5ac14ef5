/**
 * Unfinished uploads are uncommitted blocks of the target blob itself: Azure keeps them next to
 * the blob (up to 100,000), never shows them through Get Blob, Get Blob Properties or a default
 * listing, and drops them all when the blob is next committed, replaced or deleted (or 7 days
 * after the last block was staged). Uncommitted blocks cannot be read back, so everything a new
 * process needs, to resume an upload and to know which writer owns it, is in the ids of those
 * blocks. Each id is 40 ASCII characters before base64 (Azure wants the ids of one blob to be of
 * equal length), fixed-width fields in this order:
 *
 *   stw2 | mode 1 | upload 5 | kind 1 | seq 6 | gen 4 | session 5 | pred 5 | stamp 9
 *
 * - `mode`: `n`, the upload's blocks are the whole content; `a`, they follow the blob's committed
 *   block list (an append to content this driver committed in blocks).
 * - `upload`: a random name of the upload; writer(P, false) starts a new one.
 * - `kind`: `d` data, or `o` the open marker every writer session stages when it opens. Its `seq`
 *   is where the session starts (the length of the chain it resumed) and its `pred` names the
 *   session it resumed (whose gen is one less); a fresh upload's first session has no pred.
 * - `gen` + `session`: the writer session. `gen` is one more than any gen on the blob when it
 *   opened, `session` random: sessions order by gen, then session, and the newest open marker on
 *   the blob is the one live writer. Every earlier writer is fenced.
 * - `stamp`: when the block was staged (ms), so purgeUploads knows an upload's last write.
 *
 * Numbers are base 36, zero-padded. Committed blocks of the earlier format `stw1` (also 40
 * characters) can still be built on; its uncommitted blocks count as another tool's.
 */

const FORMAT = 'stw2';
const ID_LENGTH = 40;
const WIDTH = { upload: 5, seq: 6, gen: 4, session: 5, stamp: 9 } as const;
/** The pred field of a session that resumed nothing. */
const NO_PRED = '0'.repeat(WIDTH.session);

export type UploadMode = 'n' | 'a';
type BlockKind = 'd' | 'o';

/** Largest seq and gen the id has room for. */
export const MAX_SEQ = 36 ** WIDTH.seq - 1;
export const MAX_GEN = 36 ** WIDTH.gen - 1;

export interface UploadId {
  mode: UploadMode;
  nonce: string;
}

/** One writer session: newer sessions have a higher gen, ties are broken by the random nonce. */
export interface SessionId {
  gen: number;
  nonce: string;
}

export interface ParsedBlockId {
  upload: UploadId;
  kind: BlockKind;
  seq: number;
  session: SessionId;
  /** Open markers only: the nonce of the session this one resumed (its gen is one less). */
  pred?: string;
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

function randomNonce(width: number): string {
  for (;;) {
    let nonce = '';
    for (let i = 0; i < width; i++) nonce += Math.floor(Math.random() * 36).toString(36);
    if (nonce !== NO_PRED) return nonce;
  }
}

export function newUploadId(mode: UploadMode): UploadId {
  return { mode, nonce: randomNonce(WIDTH.upload) };
}

export function newSession(gen: number): SessionId {
  return { gen, nonce: randomNonce(WIDTH.session) };
}

/** A stable text key of an upload, equal for all of its blocks. */
function uploadKey(upload: UploadId): string {
  return `${upload.mode}${upload.nonce}`;
}

function sessionKey(session: SessionId): string {
  return `${session.gen}:${session.nonce}`;
}

/** Older sessions first. */
function compareSessions(a: SessionId, b: SessionId): number {
  if (a.gen !== b.gen) return a.gen - b.gen;
  return a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0;
}

/** The id of data block `seq` staged by `session`. */
export function dataBlockId(upload: UploadId, seq: number, session: SessionId, stamp = Date.now()): string {
  return encode(upload, 'd', seq, session, NO_PRED, stamp);
}

/** The id of the open marker of `session`, which starts at `start` after resuming `pred`. */
export function openMarkerId(upload: UploadId, start: number, session: SessionId, pred?: SessionId, stamp = Date.now()): string {
  if (pred && pred.gen !== session.gen - 1) throw new RangeError(`a session of gen ${session.gen} resumes one of gen ${session.gen - 1}, not ${pred.gen}`);
  return encode(upload, 'o', start, session, pred?.nonce ?? NO_PRED, stamp);
}

function encode(upload: UploadId, kind: BlockKind, seq: number, session: SessionId, pred: string, stamp: number): string {
  const text = `${FORMAT}${uploadKey(upload)}${kind}${pad36(seq, WIDTH.seq)}${pad36(session.gen, WIDTH.gen)}${session.nonce}${pred}${pad36(stamp, WIDTH.stamp)}`;
  if (text.length !== ID_LENGTH) throw new RangeError(`block id of ${text.length} characters`);
  return Buffer.from(text, 'latin1').toString('base64');
}

const ID_PATTERN = /^stw2([na])([0-9a-z]{5})([do])([0-9a-z]{6})([0-9a-z]{4})([0-9a-z]{5})([0-9a-z]{5})([0-9a-z]{9})$/;
const EARLIER_FORMAT = /^stw1[na][0-9a-z]{35}$/;

function decode(id: string): string | undefined {
  const text = Buffer.from(id, 'base64').toString('latin1');
  return text.length === ID_LENGTH ? text : undefined;
}

/** The fields of one of our block ids, or undefined for any other id. */
export function parseBlockId(id: string): ParsedBlockId | undefined {
  const m = ID_PATTERN.exec(decode(id) ?? '');
  if (!m) return undefined;
  const kind = m[3] as BlockKind;
  return {
    upload: { mode: m[1] as UploadMode, nonce: m[2]! },
    kind,
    seq: parseInt(m[4]!, 36),
    session: { gen: parseInt(m[5]!, 36), nonce: m[6]! },
    ...(kind === 'o' && m[7] !== NO_PRED ? { pred: m[7]! } : {}),
    stamp: parseInt(m[8]!, 36),
  };
}

/** True when every committed id is one of ours, of either format (so new blocks of ours can join them in one block list). */
export function allOurs(blocks: readonly ListedBlock[]): boolean {
  return blocks.every((b) => parseBlockId(b.name) !== undefined || EARLIER_FORMAT.test(decode(b.name) ?? ''));
}

/** What the uncommitted blocks say about one upload. */
export interface StagedUpload {
  upload: UploadId;
  /** Its newest writer session (undefined for blocks staged without one: putContent, a cancel's re-commit). */
  head?: SessionId;
  /** The upload's content blocks as its newest session has them, in order (base64 ids). */
  chain: string[];
  /** Bytes in `chain`. */
  chainSize: number;
  /** The seq the next block gets. */
  nextSeq: number;
  /** The latest stamp of any of its blocks (ms). */
  lastWrite: number;
  /** How many uncommitted blocks it has, content or not. */
  blockCount: number;
}

export interface StagedUploads {
  /** The upload of the newest writer session, the one writer(P, true) resumes; undefined when no writer opened one. */
  current?: StagedUpload;
  /** Every upload found, newest first (uploads without a writer session last). */
  all: StagedUpload[];
  /** The highest gen of any of our blocks (0 when there is none): a new session takes one more. */
  maxGen: number;
  /** Uncommitted blocks whose ids are not ours (another tool's); the next commit drops them. */
  foreignBlocks: number;
}

type Block = ParsedBlockId & ListedBlock;

/** Groups a blob's uncommitted blocks by upload and works out each upload's content. */
export function analyseUncommitted(uncommitted: readonly ListedBlock[]): StagedUploads {
  const groups = new Map<string, { upload: UploadId; blocks: Block[] }>();
  let foreignBlocks = 0;
  let maxGen = 0;
  for (const block of uncommitted) {
    const parsed = parseBlockId(block.name);
    if (!parsed) {
      foreignBlocks++;
      continue;
    }
    maxGen = Math.max(maxGen, parsed.session.gen);
    const key = uploadKey(parsed.upload);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { upload: parsed.upload, blocks: [] }));
    group.blocks.push({ ...parsed, ...block });
  }
  const all = [...groups.values()].map(({ upload, blocks }) => summarise(upload, blocks));
  all.sort((a, b) => (a.head && b.head ? compareSessions(b.head, a.head) : a.head ? -1 : b.head ? 1 : 0));
  return { current: all[0]?.head ? all[0] : undefined, all, maxGen, foreignBlocks };
}

/**
 * Whether `session`, with the open marker `markerId`, is still the one live writer of the blob:
 * `superseded` when a newer session opened (on any upload), `gone` when its marker is no longer
 * there (the blob was committed, replaced or deleted, or the upload purged or cancelled).
 */
export function liveness(uncommitted: readonly ListedBlock[], markerId: string, session: SessionId): 'live' | 'superseded' | 'gone' {
  let present = false;
  for (const block of uncommitted) {
    if (block.name === markerId) present = true;
    const parsed = parseBlockId(block.name);
    if (parsed?.kind === 'o' && compareSessions(parsed.session, session) > 0) return 'superseded';
  }
  return present ? 'live' : 'gone';
}

/**
 * An upload's content as its newest session has it: the chain of the session it resumed, cut at
 * where it started, then its own blocks from there while their seqs run on. Blocks a fenced
 * session staged after a newer one started never count, whatever their seq.
 */
function summarise(upload: UploadId, blocks: Block[]): StagedUpload {
  const markers = new Map<string, Block>();
  const data = new Map<string, Map<number, Block>>();
  let head: Block | undefined;
  let lastWrite = 0;
  for (const block of blocks) {
    lastWrite = Math.max(lastWrite, block.stamp);
    const key = sessionKey(block.session);
    if (block.kind === 'o') {
      markers.set(key, block);
      if (!head || compareSessions(block.session, head.session) > 0) head = block;
      continue;
    }
    let own = data.get(key);
    if (!own) data.set(key, (own = new Map<number, Block>()));
    own.set(block.seq, block);
  }
  // The sessions from the upload's first to its newest, each resuming the one before.
  const lineage: Block[] = [];
  for (let session = head; session;) {
    lineage.unshift(session);
    session = session.pred === undefined ? undefined : markers.get(sessionKey({ gen: session.session.gen - 1, nonce: session.pred }));
  }
  let chain: Block[] = [];
  for (const session of lineage) {
    // A session starts at the end of what it resumed; fewer blocks there cannot happen while blocks only go as a whole.
    if (chain.length < session.seq) break;
    chain = chain.slice(0, session.seq);
    const own = data.get(sessionKey(session.session));
    for (let block = own?.get(chain.length); block; block = own!.get(chain.length)) chain.push(block);
  }
  return {
    upload,
    ...(head ? { head: head.session } : {}),
    chain: chain.map((b) => b.name),
    chainSize: chain.reduce((sum, b) => sum + b.size, 0),
    nextSeq: chain.length,
    lastWrite,
    blockCount: blocks.length,
  };
}
