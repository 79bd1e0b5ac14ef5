/**
 * The half of an object-store driver that does not depend on the SDK: stat, list, walk, delete,
 * move and the resumable writer, over an ObjectStore. The S3 and OSS drivers extend it and add
 * reads, putContent, redirect URLs and error mapping.
 */
import { BaseStorageDriver } from '../base/driver-base';
import { PathNotFoundError } from '../errors';
import { ROOT } from '../paths';
import { walkFlat, type FlatListingSource } from '../walk/walk-flat';
import type { FileInfo, FileWriter, LeftoverInspector, OpOptions, WalkFn, WalkOptions } from '../types';
import type { ObjectKeyLayout } from './key-layout';
import { copyIntoParts, type MultipartStore, type StoredObject } from './multipart-store';
import { StagedUploads } from './staged-uploads';
import { listByPrefix, statByPrefix } from './tree';

/** One page of a listing: the objects, and with a delimiter the common prefixes (ending in it). */
export interface ListPage {
  objects: StoredObject[];
  prefixes: string[];
}

export interface ListOptions extends OpOptions {
  delimiter?: string;
  startAfter?: string;
  /** Ask for at most this many keys and stop after the first page. */
  maxKeys?: number;
}

/** What an object-store driver needs from its SDK, by key. */
export interface ObjectStore extends MultipartStore {
  /** Pages of the listing under `prefix`, in key order, following continuation tokens. */
  listPages(prefix: string, opts: ListOptions): AsyncIterable<ListPage>;
  /** A server-side copy in one request (for objects up to the copy threshold). */
  copyObject(destKey: string, sourceKey: string, opts: OpOptions): Promise<void>;
}

export interface ObjectStoreDriverConfig {
  driverName: string;
  store: ObjectStore;
  layout: ObjectKeyLayout;
  /** The writer's part size and parts in flight. */
  partSize: number;
  concurrency: number;
  /** move copies with one copyObject up to this size, with UploadPartCopy above it. */
  copyThresholdSize: number;
  copyChunkSize: number;
  copyMaxConcurrency: number;
}

/**
 * The parts of an ObjectStoreDriver that are not its API, for this repository's tests (exported
 * from `@stowage/core/internal` only).
 * @internal
 */
export interface ObjectStoreDriverInternals {
  store: ObjectStore;
  uploads: StagedUploads;
}

let internalsOf: (driver: ObjectStoreDriver) => ObjectStoreDriverInternals;

export abstract class ObjectStoreDriver extends BaseStorageDriver implements LeftoverInspector {
  static {
    internalsOf = (driver) => ({ store: driver.store, uploads: driver.uploads });
  }

  /** The backend's requests; a subclass narrows it to its own store. */
  protected readonly store: ObjectStore;
  /** Maps storage paths to object keys and back. */
  readonly layout: ObjectKeyLayout;
  /** Unfinished uploads, staged as objects under the layout's uploads directory. */
  protected readonly uploads: StagedUploads;
  protected readonly copyThresholdSize: number;
  protected readonly copyChunkSize: number;
  protected readonly copyMaxConcurrency: number;

  protected constructor(config: ObjectStoreDriverConfig) {
    super();
    this.store = config.store;
    this.layout = config.layout;
    this.uploads = new StagedUploads(config.driverName, config.store, config.layout, { partSize: config.partSize, concurrency: config.concurrency });
    this.copyThresholdSize = config.copyThresholdSize;
    this.copyChunkSize = config.copyChunkSize;
    this.copyMaxConcurrency = config.copyMaxConcurrency;
  }

  /** Staged-upload keys of `path` and the paths below it: what an interrupted or leaked upload leaves. */
  leftovers(prefix: string = ROOT): Promise<string[]> {
    return this.uploads.leftovers(prefix);
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    return this.uploads.open(path, append, opts, (size) => this.writerInit(path, size, opts));
  }

  protected async _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    return this.uploads.purge(olderThan, opts);
  }

  protected async _stat(path: string, opts: OpOptions): Promise<FileInfo> {
    return statByPrefix(
      this.name,
      path,
      () => this.store.head(this.layout.key(path), opts),
      () => this.firstObject(this.layout.dirPrefix(path), opts),
    );
  }

  protected async _list(path: string, opts: OpOptions): Promise<string[]> {
    // The staged-upload namespace and foreign keys with invalid names are not part of the tree.
    return listByPrefix(this.name, path, this.childKeys(path, opts), (key) => this.layout.pathOf(key));
  }

  private async *childKeys(path: string, opts: OpOptions): AsyncGenerator<string[]> {
    for await (const page of this.store.listPages(this.layout.dirPrefix(path), { ...opts, delimiter: '/' })) {
      yield [...page.objects.map((o) => o.key), ...page.prefixes.map((p) => p.slice(0, -1))];
    }
  }

  protected override async _walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions): Promise<void> {
    await walkFlat(this.flatListing(), path, fn, opts);
  }

  protected async _delete(path: string, opts: OpOptions): Promise<void> {
    const key = this.layout.key(path);
    // The file at `path` (if any) and, page by page, everything below it. Listing `key/` rather than
    // `key` keeps siblings such as `key-2/...` out of the listing.
    const file = this.store.head(key, opts);
    file.catch(() => undefined); // awaited below; a listing failure must not leave it unhandled
    let found = false;
    for await (const page of this.store.listPages(this.layout.dirPrefix(path), opts)) {
      if (page.objects.length === 0) continue;
      found = true;
      await this.store.deleteKeys(
        page.objects.map((o) => o.key),
        opts,
      );
    }
    if (await file) {
      found = true;
      await this.store.deleteKeys([key], opts);
    }
    if (!found) throw new PathNotFoundError(this.name, path, { operation: 'delete' });
  }

  protected async _move(sourcePath: string, destPath: string, opts: OpOptions): Promise<void> {
    const sourceKey = this.layout.key(sourcePath);
    const source = await this.store.head(sourceKey, opts);
    if (!source) throw new PathNotFoundError(this.name, sourcePath, { operation: 'move' });
    if (sourcePath === destPath) return;
    await this.copyForMove(sourceKey, this.layout.key(destPath), source.size, opts);
    await this.store.deleteKeys([sourceKey], opts);
  }

  /** move's copy: one copyObject up to the threshold, UploadPartCopy above (needed past 5 GiB). */
  protected async copyForMove(sourceKey: string, destKey: string, size: number, opts: OpOptions): Promise<void> {
    if (size <= this.copyThresholdSize) await this.store.copyObject(destKey, sourceKey, opts);
    else await this.multipartCopy(sourceKey, destKey, size, opts);
  }

  /** UploadPartCopy in parts of `copyChunkSize` (more if 10,000 would not do), `copyMaxConcurrency` at a time. */
  protected async multipartCopy(sourceKey: string, destKey: string, size: number, opts: OpOptions): Promise<void> {
    const partSize = Math.max(this.copyChunkSize, Math.ceil(size / this.store.maxParts));
    const uploadId = await this.store.createMultipartUpload(destKey, opts);
    try {
      const parts = await copyIntoParts(this.store, { destKey, uploadId, sourceKey }, size, partSize, this.copyMaxConcurrency, opts);
      await this.store.completeMultipartUpload(destKey, uploadId, parts, opts);
    } catch (err) {
      // Without the caller's signal: the abort must happen even when the signal is what failed us.
      await this.store.abortMultipartUpload(destKey, uploadId, {}).catch(() => undefined);
      throw err;
    }
  }

  private async firstObject(prefix: string, opts: OpOptions): Promise<StoredObject | undefined> {
    for await (const page of this.store.listPages(prefix, { ...opts, maxKeys: 1 })) return page.objects[0];
    return undefined;
  }

  /** Flat listings for walkFlat: every file below a directory, in key order, hidden keys left out. */
  private flatListing(): FlatListingSource {
    const { layout, store } = this;
    // Everything in the staged-upload namespace sorts before this key, and no valid path after it does.
    const pastUploads = `${layout.uploadsPrefix.slice(0, -1)}0`;
    return {
      driverName: this.name,
      async *files(dir, startAfter, opts) {
        let after = startAfter === undefined ? undefined : layout.key(startAfter);
        for (;;) {
          let skipTo: string | undefined;
          for await (const object of store.listKeys(layout.dirPrefix(dir), { ...opts, ...(after === undefined ? {} : { startAfter: after }) })) {
            if (object.key.startsWith(layout.uploadsPrefix)) {
              // Staged uploads can be many: jump over the whole namespace instead of paging through it.
              skipTo = pastUploads;
              break;
            }
            const path = layout.pathOf(object.key);
            if (path !== undefined) yield { path, size: object.size, modTime: object.modTime, isDir: false };
          }
          if (skipTo === undefined) return;
          after = skipTo;
        }
      },
    };
  }
}

/**
 * The store and staged uploads of an ObjectStoreDriver (or a subclass), for tests only.
 * @internal
 */
export function objectStoreDriverInternals(driver: ObjectStoreDriver): ObjectStoreDriverInternals {
  return internalsOf(driver);
}
