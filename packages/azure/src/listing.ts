/**
 * Reading the container's names: the flat listing a walk runs on (with the page cache that lets
 * a restarted listing continue), the delimiter listing `list` runs on, and the probe `stat` uses to
 * tell a directory.
 */
import type { ContainerListBlobFlatSegmentResponse } from '@azure/storage-blob';
import type { FileInfo } from '@stowage/core';
import { LIST_PAGE_SIZE, type BlobStore } from './blob-store';
import { isContainerNotFound } from './errors';

/** The first page of a walk's listing: often all the walk wants is whether a directory has a file. */
const FIRST_PAGE_SIZE = 100;

const END_OF_LISTING = Symbol('end of listing');

/**
 * The pages of flat listings seen during one walk: for each name prefix, which continuation token
 * led to a page and the last name on it. A listing that restarts after a name continues from the
 * page holding that name (List Blobs has no "start after"; its tokens are opaque but reusable).
 */
export class ListingPages {
  private readonly byPrefix = new Map<string, Array<{ token: string | undefined; last: string; next: string | undefined }>>();

  record(prefix: string, token: string | undefined, last: string, next: string | undefined): void {
    let pages = this.byPrefix.get(prefix);
    if (!pages) this.byPrefix.set(prefix, (pages = []));
    if (pages.length > 0 && pages[pages.length - 1]!.last >= last) return; // already known
    pages.push({ token, last, next });
  }

  /** Where to list from to get the names after `after`: a token, undefined (the start) or END_OF_LISTING. */
  resumeToken(prefix: string, after: string): string | undefined | typeof END_OF_LISTING {
    const pages = this.byPrefix.get(prefix) ?? [];
    for (const page of pages) if (page.last > after) return page.token;
    const lastPage = pages[pages.length - 1];
    if (!lastPage) return undefined;
    return lastPage.next ?? END_OF_LISTING;
  }
}

/** Every file below `dir`, in byte order of name, after the path `startAfter` if given. */
export async function* listFiles(
  store: BlobStore,
  dir: string,
  startAfter: string | undefined,
  signal: AbortSignal | undefined,
  pages: ListingPages,
): AsyncGenerator<FileInfo> {
  const { layout } = store;
  const prefix = layout.dirPrefix(dir);
  const after = startAfter === undefined ? undefined : layout.blobName(startAfter);
  const resume = after === undefined ? undefined : pages.resumeToken(prefix, after);
  if (resume === END_OF_LISTING) return;
  let token: string | undefined = resume;
  // A small first page: the walk often only asks whether a directory has any file at all.
  let pageSize = token === undefined ? FIRST_PAGE_SIZE : LIST_PAGE_SIZE;
  for (;;) {
    let page: ContainerListBlobFlatSegmentResponse | undefined;
    try {
      const next = await store.container.listBlobsFlat({ prefix, abortSignal: signal }).byPage({ continuationToken: token, maxPageSize: pageSize }).next();
      page = next.done ? undefined : next.value;
    } catch (err) {
      if (isContainerNotFound(err)) return;
      throw err;
    }
    if (!page) return;
    const items = page.segment.blobItems;
    const next: string | undefined = page.continuationToken || undefined;
    if (items.length > 0) pages.record(prefix, token, items[items.length - 1]!.name, next);
    for (const item of items) {
      if (after !== undefined && item.name <= after) continue;
      const path = layout.pathOf(item.name);
      if (path !== undefined) yield { path, size: item.properties.contentLength ?? 0, modTime: item.properties.lastModified, isDir: false };
    }
    if (next === undefined) return;
    token = next;
    pageSize = LIST_PAGE_SIZE;
  }
}

/**
 * The names directly below `dir`, a page at a time, for core's listByPrefix: blob names and
 * virtual directory prefixes without their trailing '/'. A missing container lists nothing.
 */
export async function* childNamePages(store: BlobStore, dir: string, signal?: AbortSignal): AsyncGenerator<string[]> {
  const prefix = store.layout.dirPrefix(dir);
  try {
    const pages = store.container.listBlobsByHierarchy('/', { prefix, abortSignal: signal }).byPage({ maxPageSize: LIST_PAGE_SIZE });
    for await (const page of pages) {
      const directories = (page.segment.blobPrefixes ?? []).map((item) => item.name.replace(/\/+$/, ''));
      yield [...directories, ...page.segment.blobItems.map((item) => item.name)];
    }
  } catch (err) {
    if (!isContainerNotFound(err)) throw err;
  }
}

/** The first blob below a name prefix (what dates a directory), or undefined when there is none. */
export async function firstBlobBelow(store: BlobStore, prefix: string, signal?: AbortSignal): Promise<{ modTime: Date } | undefined> {
  try {
    const pages = store.container.listBlobsFlat({ prefix, abortSignal: signal }).byPage({ maxPageSize: 1 });
    for await (const page of pages) {
      const first = page.segment.blobItems[0];
      if (first) return { modTime: first.properties.lastModified };
    }
  } catch (err) {
    if (!isContainerNotFound(err)) throw err;
  }
  return undefined;
}
