/**
 * The in-memory writer: bytes go straight into its StagedUpload (store.ts), and commit publishes
 * them as a new file. The store's entry for the path is the fence: a writer whose upload is no
 * longer that entry was replaced by a newer writer (fenced) or purged.
 *
 * Written bytes are copied (the caller may reuse its buffer once write() resolves) into slabs this
 * writer allocates (or takes from the store's pool of dropped files' slabs, see store.ts) and
 * alone fills: a stream of 1 MiB writes makes a few large buffers rather than one per write, so storing, reading and freeing a big file costs a handful of allocations. A slab
 * grows with the upload (the first one is exactly the first write, so small files waste nothing)
 * up to MAX_SLAB. Only bytes past `slabUsed` are ever written, and a chunk covers bytes before it,
 * so a stored chunk never changes.
 */
import { BaseFileWriter, PathNotFoundError, UploadFencedError, type FileWriterInit } from '@stowage/core';
import { FileNode, MAX_SLAB, type MemoryStore, type StagedUpload } from './store';

/** What the writer needs of its driver (InMemoryDriver implements it). */
export interface InMemoryWriterHost {
  /** The unfinished uploads by path: a path's entry is its one live upload. */
  readonly store: Pick<MemoryStore, 'uploads' | 'takeSlab'>;
  /** Puts `file` at `path`, creating parent directories; replaces an existing file atomically. */
  publish(path: string, file: FileNode): void;
}

export class InMemoryFileWriter extends BaseFileWriter {
  /** The slab being filled, this writer's own; undefined until the first write that needs one. */
  private slab: Buffer | undefined;
  private slabUsed = 0;
  /** The upload began empty, so every slab it holds is this writer's own (a resumed one shares). */
  private readonly fresh: boolean;

  constructor(
    init: FileWriterInit,
    private readonly upload: StagedUpload,
    private readonly host: InMemoryWriterHost,
  ) {
    super(init);
    this.fresh = upload.chunks.length === 0;
  }

  protected async _write(chunk: Buffer): Promise<void> {
    this.requireCurrent('write');
    let at = 0;
    while (at < chunk.length) {
      if (!this.slab || this.slabUsed === this.slab.length) this.newSlab(chunk.length - at);
      const slab = this.slab!;
      const start = this.slabUsed;
      const copied = chunk.copy(slab, start, at);
      this.slabUsed += copied;
      at += copied;
      this.appendView(slab, start, this.slabUsed);
    }
    this.upload.size += chunk.length;
    this.upload.lastWritten = new Date();
  }

  protected async _close(): Promise<void> {
    // Nothing to flush: the staged upload already holds every byte.
    this.requireCurrent('close');
  }

  protected async _commit(): Promise<void> {
    this.requireCurrent('commit');
    this.trimLastSlab();
    // The committed file gets its own list: nothing that still holds the upload can change it.
    this.host.publish(this.path, new FileNode([...this.upload.chunks], this.upload.size, new Date(), this.fresh));
    this.host.store.uploads.delete(this.path);
  }

  protected async _cancel(): Promise<void> {
    this.requireCurrent('cancel');
    this.host.store.uploads.delete(this.path);
  }

  /** A slab for `wanted` more bytes: at least those, else as much as the upload holds so far (doubling), within MAX_SLAB. */
  private newSlab(wanted: number): void {
    const size = Math.max(wanted, Math.min(MAX_SLAB, this.upload.size));
    this.slabUsed = 0;
    // A dropped file's slab: its pages are already mapped, so filling it costs no page faults.
    const reused = size === MAX_SLAB ? this.host.store.takeSlab() : undefined;
    if (reused) {
      this.slab = reused;
      return;
    }
    // Small slabs may come from Node's shared pool: stored bytes are never handed out, only copies.
    this.slab = size < 4096 ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
  }

  /** Records slab[start, end) as written: it extends the upload's last chunk when that one ends at `start` in this slab. */
  private appendView(slab: Buffer, start: number, end: number): void {
    const chunks = this.upload.chunks;
    const last = chunks[chunks.length - 1];
    if (last !== undefined && last.buffer === slab.buffer && last.byteOffset >= slab.byteOffset && last.byteOffset + last.length === slab.byteOffset + start) {
      // A longer view of the same slab; anything holding the shorter one is unaffected.
      chunks[chunks.length - 1] = slab.subarray(last.byteOffset - slab.byteOffset, end);
    } else {
      chunks.push(slab.subarray(start, end));
    }
  }

  /**
   * A committed file outlives its writer, so a last slab mostly unused would stay allocated for
   * nothing: its written part moves to an exact copy (at most MAX_SLAB / 2 bytes, once per commit).
   */
  private trimLastSlab(): void {
    const slab = this.slab;
    this.slab = undefined;
    if (!slab || this.slabUsed * 2 >= slab.length) return;
    const chunks = this.upload.chunks;
    const last = chunks[chunks.length - 1];
    if (last === undefined || last.buffer !== slab.buffer || last.byteOffset + last.length !== slab.byteOffset + this.slabUsed) return;
    chunks[chunks.length - 1] = Buffer.from(last);
  }

  /** An upload a newer writer replaced is fenced; one that is simply gone was purged. */
  private requireCurrent(operation: string): void {
    if (this.upload.fenced) throw new UploadFencedError(this.driverName, this.path, operation);
    if (this.host.store.uploads.get(this.path) !== this.upload) {
      throw new PathNotFoundError(this.driverName, this.path, { operation, cause: new Error('the upload was purged') });
    }
  }
}
