/**
 * Blob uploads on Stowage writers. Each request that carries bytes (PATCH, the closing PUT, a
 * monolithic POST) opens the upload's writer with append = true, streams its body into it (in
 * writes of up to WRITE_BATCH bytes) while updating the sha256, closes it and keeps the digest
 * state in this process; the closing PUT verifies the digest, commits, and moves the data to its
 * content address. Nothing of an upload is visible outside its `_uploads/<id>` folder until then,
 * and a digest that does not match discards the upload.
 *
 * A request cut off mid-body leaves a resumable upload: the bytes that arrived are stored and the
 * state kept after them. When the upload's earlier requests went to another process (or this one
 * restarted), the state here covers fewer bytes than are stored, and the closing PUT commits and
 * reads back only the bytes after it to catch up (uncommitted bytes cannot be read).
 */
import { randomUUID } from 'node:crypto';
import { isPathNotFound, type FileWriter, type StorageDriver } from '@stowage/core';
import type { BlobStore } from './blobs';
import { type DigestState, DigestStates } from './digest-state';
import { ClientGoneError, digestInvalid, RegistryError, uploadUnknown } from './errors';
import { blobDataPath, uploadDataPath, uploadDir, uploadStartedAtPath } from './layout';
import { deleteIfPresent, sizeOf } from './links';
import type { Digest } from './names';

/** A request's `Content-Range: <start>-<end>` (inclusive), when it sent one. */
export interface ChunkRange {
  start: number;
  end: number;
}

/** The last byte position for a `Range: 0-<end>` header, as distribution writes it (0 when empty). */
export function rangeEnd(size: number): number {
  return size > 0 ? size - 1 : 0;
}

/**
 * Request bodies arrive in socket-sized pieces (16-64 KiB); they are gathered into writes of up to
 * this many bytes, so that the driver's per-write work (a lock check, a system call, a part
 * buffer copy) is paid per MiB rather than per piece.
 */
const WRITE_BATCH = 1024 * 1024;

export class UploadStore {
  /** One request at a time per upload in this process (another process is kept out by writer fencing). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** The running digests of the uploads this process serves. */
  private readonly states = new DigestStates();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
  ) {}

  /** Starts an upload session: its start time and an empty resumable writer. */
  async start(name: string): Promise<string> {
    const id = randomUUID();
    await this.driver.putContent(uploadStartedAtPath(name, id), Buffer.from(new Date().toISOString()));
    const writer = await this.driver.writer(uploadDataPath(name, id), false);
    await writer.close();
    return id;
  }

  /** The bytes stored so far (BLOB_UPLOAD_UNKNOWN when there is no such upload). */
  status(name: string, id: string): Promise<number> {
    return this.serialised(name, id, async () => {
      const writer = await this.openWriter(name, id);
      const size = writer.size;
      await writer.close();
      return size;
    });
  }

  /**
   * PATCH: appends `body` (416 unless `range` starts at the stored size) and returns the new size.
   * Rejects with ClientGoneError, after storing what arrived, when the body breaks off.
   */
  append(name: string, id: string, body: AsyncIterable<Uint8Array>, range?: ChunkRange): Promise<number> {
    return this.serialised(name, id, async () => {
      const writer = await this.openWriter(name, id);
      try {
        checkRangeStart(range, writer.size);
        const state = this.states.take(name, id, writer.size);
        const bodyError = await this.writeBody(writer, state, body);
        await this.closeAndSave(name, id, writer, state);
        if (bodyError !== undefined) throw new ClientGoneError(bodyError);
        return writer.size;
      } finally {
        await writer.close().catch(() => undefined);
      }
    });
  }

  /**
   * The closing PUT (and a monolithic POST): appends `body` if there is one, verifies `digest`,
   * and publishes the blob into repository `name`. Returns the blob's size. A digest mismatch
   * discards the upload (DIGEST_INVALID); the blob and the repository are unchanged.
   */
  complete(name: string, id: string, digest: Digest, body?: AsyncIterable<Uint8Array>, range?: ChunkRange): Promise<number> {
    return this.serialised(name, id, async () => {
      const path = uploadDataPath(name, id);
      const writer = await this.openWriter(name, id);
      try {
        checkRangeStart(range, writer.size);
        const state = this.states.take(name, id, writer.size);
        if (body) {
          const bodyError = await this.writeBody(writer, state, body);
          if (bodyError !== undefined) {
            await this.closeAndSave(name, id, writer, state);
            throw new ClientGoneError(bodyError);
          }
        }
        const size = writer.size;
        if (state.offset === size) {
          // The usual case: the digest is known without reading anything back.
          if (hexOf(state) !== digest.hex) {
            await writer.cancel();
            await deleteIfPresent(this.driver, uploadDir(name, id));
            throw mismatch(digest, state);
          }
          await writer.commit();
        } else {
          await writer.commit();
          await this.catchUp(path, state);
          if (hexOf(state) !== digest.hex) {
            await deleteIfPresent(this.driver, uploadDir(name, id));
            throw mismatch(digest, state);
          }
        }
        if ((await sizeOf(this.driver, blobDataPath(digest))) === undefined) await this.driver.move(path, blobDataPath(digest));
        await this.blobs.link(name, digest);
        await deleteIfPresent(this.driver, uploadDir(name, id));
        return size;
      } finally {
        await writer.close().catch(() => undefined);
      }
    });
  }

  /** DELETE: discards the upload and its folder. */
  cancel(name: string, id: string): Promise<void> {
    return this.serialised(name, id, async () => {
      this.states.forget(name, id);
      const writer = await this.openWriter(name, id);
      await writer.cancel();
      await deleteIfPresent(this.driver, uploadDir(name, id));
    });
  }

  private async openWriter(name: string, id: string): Promise<FileWriter> {
    if ((await sizeOf(this.driver, uploadStartedAtPath(name, id))) === undefined) throw uploadUnknown();
    try {
      return await this.driver.writer(uploadDataPath(name, id), true);
    } catch (err) {
      if (isPathNotFound(err)) throw uploadUnknown();
      throw err;
    }
  }

  /**
   * Streams `body` into `writer` in writes of WRITE_BATCH bytes (the last one shorter), hashing
   * each once it is stored while the state is in step with the stored bytes. The pieces are
   * gathered in one buffer per request, reused after every write (FileWriter.write lets the caller
   * reuse its buffer once the promise resolves), so no fresh memory is touched per MiB. Returns
   * the body's error if the body broke off (what arrived before is stored); a storage error is thrown.
   */
  private async writeBody(writer: FileWriter, state: DigestState, body: AsyncIterable<Uint8Array>): Promise<unknown> {
    const inStep = state.offset === writer.size;
    let batch: Buffer | undefined;
    let fill = 0;
    const flush = async () => {
      if (fill === 0) return;
      const bytes = batch!.subarray(0, fill);
      fill = 0;
      await writer.write(bytes);
      if (inStep) {
        state.hasher.update(bytes);
        state.offset += bytes.length;
      }
    };
    const iterator = body[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (err) {
        await flush();
        return err ?? new Error('request body failed');
      }
      if (next.done) {
        await flush();
        return undefined;
      }
      const piece = next.value;
      for (let at = 0; at < piece.length;) {
        batch ??= Buffer.allocUnsafe(WRITE_BATCH);
        const n = Math.min(piece.length - at, WRITE_BATCH - fill);
        batch.set(n === piece.length ? piece : piece.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === WRITE_BATCH) await flush();
      }
    }
  }

  /**
   * Closes the writer (resumable) and keeps the digest state for the upload's next request. A
   * state is kept only after a close that succeeded, so it never covers bytes that were not stored.
   */
  private async closeAndSave(name: string, id: string, writer: FileWriter, state: DigestState): Promise<void> {
    await writer.close();
    if (state.offset <= writer.size) this.states.keep(name, id, state);
  }

  /** Hashes the committed upload from the state's offset to its end. */
  private async catchUp(path: string, state: DigestState): Promise<void> {
    for await (const chunk of await this.driver.reader(path, state.offset)) {
      state.hasher.update(chunk as Buffer);
      state.offset += (chunk as Buffer).length;
    }
  }

  private serialised<T>(name: string, id: string, task: () => Promise<T>): Promise<T> {
    const key = `${name}\n${id}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }
}

function checkRangeStart(range: ChunkRange | undefined, size: number): void {
  if (range && range.start !== size) {
    throw new RegistryError(
      416,
      'BLOB_UPLOAD_INVALID',
      `the chunk must start at ${size}`,
      { start: range.start, stored: size },
      { Range: `0-${rangeEnd(size)}` },
    );
  }
}

function hexOf(state: DigestState): string {
  return state.hasher.digest('hex');
}

function mismatch(digest: Digest, state: DigestState): RegistryError {
  return digestInvalid('provided digest did not match uploaded content', { digest: digest.value, size: state.offset });
}
