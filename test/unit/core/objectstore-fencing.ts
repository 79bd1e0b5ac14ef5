/**
 * Fencing cases of core's shared object-store writer (StagedUploads) that the conformance suite
 * cannot time: a part that passed its session check is held in flight while a newer writer opens,
 * then let go to the real server. The S3 and OSS unit suites run them against their local servers.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, KiB, StagedUploads, type FileWriter, type MultipartStore, type ObjectStoreDriver } from '@stowage/core';
import { objectStoreDriverInternals } from '@stowage/core/internal';
import { pattern, sha256 } from '../../helpers/child-process';

/** What the scenarios need from a backend's test setup. */
export interface FencingBackend {
  /** The store's minimum part size: every size below is in parts of it. */
  partSize: number;
  /** A driver (part size `partSize`) on storage no other test uses. */
  driver(): Promise<ObjectStoreDriver>;
  /** The part numbers the server holds for the unfinished multipart uploads of `path`. */
  storedParts(driver: ObjectStoreDriver, path: string): Promise<number[]>;
  /** How many unfinished multipart uploads the server has for `path`. */
  multipartUploads(driver: ObjectStoreDriver, path: string): Promise<number>;
}

/** A driver's store with UploadPart held at a gate until the test lets the parts go. */
class GatedStore {
  readonly store: MultipartStore;
  private open = true;
  private readonly waiting: Array<() => void> = [];
  private arrived: (() => void) | undefined;

  constructor(inner: MultipartStore) {
    const hold = async () => {
      if (this.open) return;
      this.arrived?.();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    };
    this.store = Object.create(inner, {
      uploadPart: {
        value: async (...args: Parameters<MultipartStore['uploadPart']>) => {
          await hold();
          return inner.uploadPart(...args);
        },
      },
    }) as MultipartStore;
  }

  /** From now on parts wait; resolves once one is waiting (so its session check has passed). */
  hold(): Promise<void> {
    this.open = false;
    return new Promise((resolve) => (this.arrived = resolve));
  }

  /** Lets the held parts go; returns the writer's close() outcome, which waits for them. */
  async release(writer: FileWriter): Promise<unknown> {
    this.open = true;
    for (const resolve of this.waiting.splice(0)) resolve();
    return writer.close().then(
      () => undefined,
      (err: unknown) => err,
    );
  }
}

const codeOf = (err: unknown) => (err as { code?: string } | undefined)?.code;

export function describeObjectStoreFencing(backend: FencingBackend): void {
  describe('fencing of a writer whose part is in flight (core StagedUploads)', () => {
    const path = '/fenced/data';
    const PART = backend.partSize;
    const TAIL = Math.floor(PART / 2);

    /** A driver, and writers on the same storage whose part uploads a gate can hold. */
    async function setup() {
      const driver = await backend.driver();
      const gate = new GatedStore(objectStoreDriverInternals(driver).store);
      const uploads = new StagedUploads(driver.name, gate.store, driver.layout, { partSize: PART, concurrency: 2 });
      const gatedWriter = (append: boolean) =>
        uploads.open(path, append, {}, (size) => ({ driverName: driver.name, path, size, mapError: (err) => err as Error }));
      return { driver, gate, gatedWriter };
    }

    /** Two parts and half a part of tail, closed (a registry's first PATCH); then a resumed writer whose part 3 is held. */
    async function heldResume(driver: ObjectStoreDriver, gate: GatedStore, gatedWriter: (append: boolean) => Promise<FileWriter>) {
      const base = pattern('base', 0, 2 * PART + TAIL);
      const opener = await driver.writer(path, false);
      await opener.write(base);
      await opener.close();
      const old = await gatedWriter(true);
      const held = gate.hold();
      await old.write(pattern('old', 0, PART)); // tail + these fill part 3, which goes out at once
      await held;
      return { base, old };
    }

    async function partStored(driver: ObjectStoreDriver, n: number): Promise<void> {
      while (!(await backend.storedParts(driver, path)).includes(n)) await sleep(20);
    }

    it('a held part landing after a newer writer resumed and stored the same part number makes the newer commit fail: nothing mixed is published', async () => {
      const { driver, gate, gatedWriter } = await setup();
      const { old } = await heldResume(driver, gate, gatedWriter);
      const newer = await driver.writer(path, true);
      assert.equal(newer.size, 2 * PART + TAIL, 'the newer writer resumes the closed upload');
      await newer.write(pattern('new', 0, PART)); // its own part 3 goes out at once
      await partStored(driver, 3);

      assert.equal(codeOf(await gate.release(old)), ErrorCode.UploadFenced, 'the fenced writer’s close fails as fenced');
      // The held part 3 replaced the newer writer's: CompleteMultipartUpload's ETag check refuses it.
      const failure = await newer.commit().then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(failure !== undefined, 'the newer commit must fail');
      assert.notEqual(codeOf(failure), ErrorCode.UploadFenced, 'the newer writer is not fenced: its upload is spoiled');
      await assert.rejects(driver.stat(path), { code: ErrorCode.PathNotFound }, 'nothing was published');
      await newer.close();
      await driver.purgeUploads(new Date(Date.now() + 60_000));
    });

    it('a held part landing before the newer writer sends that part number is replaced: the newer writer commits exactly its own sequence', async () => {
      const { driver, gate, gatedWriter } = await setup();
      const { base, old } = await heldResume(driver, gate, gatedWriter);
      const newer = await driver.writer(path, true);
      const mine = pattern('new', 0, Math.floor(PART / 4)); // stays buffered until commit sends part 3
      await newer.write(mine);
      assert.equal(codeOf(await gate.release(old)), ErrorCode.UploadFenced);
      await newer.commit();
      const content = await driver.getContent(path);
      assert.equal(content.length, base.length + mine.length);
      assert.equal(sha256(content), sha256(Buffer.concat([base, mine])), 'base plus exactly the newer writer’s bytes');
      assert.deepEqual(await driver.leftovers(path), [], 'the newer writer removed the upload it resumed');
    });

    it('a newer writer(path, false) aborts the upload under a held part: the fenced writer fails with ERR_UPLOAD_FENCED, the new one commits its bytes', async () => {
      const { driver, gate, gatedWriter } = await setup();
      const { old } = await heldResume(driver, gate, gatedWriter);
      const fresh = await driver.writer(path, false);
      const mine = pattern('fresh', 0, 2 * PART + 7);
      await fresh.write(mine);
      assert.equal(codeOf(await gate.release(old)), ErrorCode.UploadFenced);
      await assert.rejects(old.write(pattern('old', PART, KiB)), { code: ErrorCode.UploadFenced });
      await assert.rejects(old.commit(), { code: ErrorCode.UploadFenced });
      await assert.rejects(old.cancel(), { code: ErrorCode.UploadFenced });
      await fresh.commit();
      assert.equal(sha256(await driver.getContent(path)), sha256(mine));
      assert.deepEqual(await driver.leftovers(path), []);
      assert.equal(await backend.multipartUploads(driver, path), 0, 'no multipart upload left behind');
    });

    it('a writer fenced before its first part aborts the multipart upload it created and stores nothing', async () => {
      const { driver, gatedWriter } = await setup();
      const old = await gatedWriter(false);
      const newer = await driver.writer(path, false);
      await old.write(pattern('old', 0, PART)); // buffered
      await assert.rejects(old.write(pattern('old', PART, KiB)), { code: ErrorCode.UploadFenced }, 'part 1 would go out now');
      assert.equal(await backend.multipartUploads(driver, path), 0, 'the fenced writer aborted the upload only it knew');
      const mine = pattern('newer', 0, 10 * KiB);
      await newer.write(mine);
      await newer.commit();
      assert.equal(sha256(await driver.getContent(path)), sha256(mine));
      assert.deepEqual(await driver.leftovers(path), []);
    });
  });
}
