import { Readable } from 'node:stream';
import {
  BaseStorageDriver,
  InvalidParameterError,
  PathNotFoundError,
  ROOT,
  Semaphore,
  StorageDriverError,
  integerOption,
  listByPrefix,
  raceAbort,
  statByPrefix,
  walkFlat,
  type DriverCapabilities,
  type ErrorContext,
  type LeftoverInspector,
  type FileInfo,
  type FileWriter,
  type FlatListingSource,
  type OpOptions,
  type RedirectOptions,
  type WalkFn,
  type WalkOptions,
} from '@stowage/core';
import type { Agent } from 'undici';
import { authenticator } from './auth/identity';
import { AuthSession } from './auth/session';
import { SwiftContainer, type ListedObject, type ObjectHead } from './container';
import { SwiftClient } from './http/client';
import { mapSwiftError } from './http/errors';
import { discard, header, newAgent } from './http/transport';
import { LargeObjects, newGeneration } from './large-objects';
import { SwiftLayout } from './layout';
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_COPY_CONCURRENCY,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_SEGMENT_CONCURRENCY,
  DEFAULT_SILENCE_TIMEOUT_MS,
  DRIVER_NAME,
  MIN_CHUNK_SIZE,
  type SwiftDriverOptions,
} from './options';
import { tempUrl, tempUrlDigest } from './tempurl';
import { SegmentedUploads } from './uploads';

/**
 * The parts of a SwiftDriver that are not its API, for this repository's tests (exported from
 * `@stowage/swift/internal` only; may change in any release).
 * @internal
 */
export interface SwiftDriverInternals {
  client: SwiftClient;
  container: SwiftContainer;
  largeObjects: LargeObjects;
  uploads: SegmentedUploads;
}

let internalsOf: (driver: SwiftDriver) => SwiftDriverInternals;

/**
 * The client, container, large-object and upload helpers of `driver`, for tests only.
 * @internal
 */
export function swiftDriverInternals(driver: SwiftDriver): SwiftDriverInternals {
  return internalsOf(driver);
}

/**
 * A StorageDriver over OpenStack Swift's REST API. Names follow distribution's swift driver
 * (`<prefix>/files<path>`, segments under `<prefix>/segments/`), so either reads what the other
 * wrote; large files are Static Large Objects whose segments belong to exactly one manifest.
 */
export class SwiftDriver extends BaseStorageDriver implements LeftoverInspector {
  readonly name = DRIVER_NAME;
  /** TempURLs, for the methods in tempurlmethods, signed with secretkey or the account's or container's TempURL key. */
  override readonly supports: DriverCapabilities;
  readonly layout: SwiftLayout;
  static {
    internalsOf = (driver) => ({ client: driver.client, container: driver.container, largeObjects: driver.largeObjects, uploads: driver.uploads });
  }

  private readonly client: SwiftClient;
  private readonly container: SwiftContainer;
  private readonly largeObjects: LargeObjects;
  private readonly uploads: SegmentedUploads;
  readonly chunkSize: number;
  readonly segmentConcurrency: number;
  private readonly agent: Agent;
  private readonly tempUrlMethods: Set<string>;
  private containerReady: Promise<void> | undefined;
  private containerChecked = false;
  private discoveredKey: Promise<string | undefined> | undefined;

  constructor(readonly options: SwiftDriverOptions) {
    super();
    const settings = resolveSettings(options);
    this.chunkSize = settings.chunkSize;
    this.segmentConcurrency = settings.segmentConcurrency;
    this.tempUrlMethods = new Set((options.tempUrlMethods ?? ['GET', 'HEAD']).map((m) => m.toUpperCase()));
    this.supports = { redirect: this.tempUrlMethods.size > 0 };
    this.agent = newAgent(options.insecureSkipVerify ?? false, settings.silenceTimeoutMs);
    this.client = new SwiftClient(new AuthSession(authenticator(options, this.agent, settings.maxAttempts)), this.agent, settings.maxAttempts);
    this.container = new SwiftContainer(this.client, options.container);
    this.layout = new SwiftLayout(options.prefix ?? '', options.rootDirectory ?? '');
    this.largeObjects = new LargeObjects(this.container, this.layout, settings.copyConcurrency);
    this.uploads = new SegmentedUploads(DRIVER_NAME, this.container, this.layout, this.largeObjects, settings);
  }

  /** Closes the driver's sockets; the driver is unusable afterwards. */
  async destroy(): Promise<void> {
    await this.agent.close();
  }

  /** Segments and markers of `path` and below that the API does not show (for tests and audits). */
  leftovers(prefix: string = ROOT): Promise<string[]> {
    return this.uploads.leftovers(prefix);
  }

  /** The container is created on first use, as distribution creates it at start-up. */
  private ready(opts: OpOptions): Promise<void> {
    if (this.containerChecked || this.options.createContainer === false) return Promise.resolve();
    // Shared by every caller, so no single caller's signal may cancel it; each caller can stop waiting.
    this.containerReady ??= this.container.ensureExists({}).then(
      () => {
        this.containerChecked = true;
      },
      (err: unknown) => {
        this.containerReady = undefined;
        throw err;
      },
    );
    return raceAbort(this.containerReady, opts.signal, { driverName: this.name });
  }

  protected override async _getContent(path: string, opts: OpOptions): Promise<Buffer> {
    await this.ready(opts);
    const response = await this.container.get(this.layout.objectName(path), 0, opts);
    if (response === 'beyond-end') return Buffer.alloc(0);
    return Buffer.from(await response.body.arrayBuffer());
  }

  protected override async _putContent(path: string, content: Buffer, opts: OpOptions): Promise<void> {
    await this.ready(opts);
    await this.uploads.commitPlain(path, content, opts);
  }

  protected async _reader(path: string, offset: number, opts: OpOptions): Promise<Readable> {
    await this.ready(opts);
    const response = await this.container.get(this.layout.objectName(path), offset, opts);
    // At or past the end of an existing object: an empty read.
    if (response === 'beyond-end') return Readable.from([]);
    if (offset > 0 && response.statusCode !== 206) {
      await discard(response);
      throw new StorageDriverError(this.name, new Error(`the server ignored the range bytes=${offset}- (HTTP ${response.statusCode})`), {
        operation: 'reader',
        path,
      });
    }
    return response.body;
  }

  protected async _writer(path: string, append: boolean, opts: OpOptions): Promise<FileWriter> {
    await this.ready(opts);
    return this.uploads.open(path, append, opts, (size) => this.writerInit(path, size, opts));
  }

  protected async _stat(path: string, opts: OpOptions): Promise<FileInfo> {
    await this.ready(opts);
    return statByPrefix(
      this.name,
      path,
      () => this.container.head(this.layout.objectName(path), opts),
      async () => {
        for await (const page of this.container.list(this.layout.dirPrefix(path), { ...opts, limit: 1 })) return page.objects[0];
        return undefined;
      },
    );
  }

  protected async _list(path: string, opts: OpOptions): Promise<string[]> {
    await this.ready(opts);
    // Foreign objects whose names are not valid paths are not part of the tree.
    return listByPrefix(this.name, path, this.childNames(path, opts), (name) => this.layout.pathOf(name));
  }

  private async *childNames(path: string, opts: OpOptions): AsyncGenerator<string[]> {
    for await (const page of this.container.list(this.layout.dirPrefix(path), { ...opts, delimiter: '/' })) {
      yield [...page.objects.map((o) => o.name), ...page.prefixes.map((p) => p.slice(0, -1))];
    }
  }

  protected override async _walk(path: string, fn: WalkFn, opts: WalkOptions & OpOptions): Promise<void> {
    await this.ready(opts);
    await walkFlat(this.flatListing(), path, fn, opts);
  }

  protected async _move(sourcePath: string, destPath: string, opts: OpOptions): Promise<void> {
    await this.ready(opts);
    const sourceName = this.layout.objectName(sourcePath);
    const source = await this.container.head(sourceName, opts);
    if (!source) throw new PathNotFoundError(this.name, sourcePath, { operation: 'move' });
    if (sourcePath === destPath) return;
    const destName = this.layout.objectName(destPath);
    const replaced = await this.container.head(destName, opts);
    let generation: string | undefined;
    if (!source.slo && source.dloManifest === undefined) {
      await this.container.copy(destName, `/${this.container.name}/${sourceName}`, opts);
    } else {
      // A large object: its segments are copied into a generation of the destination's own, never shared.
      generation = newGeneration();
      const sources = await this.largeObjects.sourcesOf(sourceName, source, opts);
      try {
        const segments = await this.largeObjects.copyInto(destPath, generation, undefined, sources, opts);
        if (segments.length === 0) await this.container.put(destName, Buffer.alloc(0), opts);
        else await this.largeObjects.writeManifest(destName, destPath, generation, segments, opts);
      } catch (err) {
        await this.largeObjects.deleteGeneration(destPath, generation, {}).catch(() => undefined);
        throw err;
      }
    }
    await this.largeObjects.deleteObject(sourceName, source, opts);
    await this.largeObjects.releaseReplaced(destPath, replaced, generation, opts);
  }

  protected async _delete(path: string, opts: OpOptions): Promise<void> {
    await this.ready(opts);
    let found = false;
    // Everything below the path (listing `name/` keeps siblings such as `name-2/...` out), page by page.
    for await (const page of this.container.list(this.layout.dirPrefix(path), opts)) {
      if (page.objects.length === 0) continue;
      found = true;
      await this.deleteListed(page.objects, opts);
    }
    // Then the file itself.
    const name = this.layout.objectName(path);
    const file = await this.container.head(name, opts);
    if (file) {
      found = true;
      await this.largeObjects.deleteObject(name, file, opts);
    }
    if (!found) throw new PathNotFoundError(this.name, path, { operation: 'delete' });
  }

  /**
   * Plain objects in bulk; SLOs with their segments; 0-byte entries asked first, as they may be DLO
   * manifests, and so are entries whose listing does not describe their content (RGW's SLOs).
   */
  private async deleteListed(objects: ListedObject[], opts: OpOptions): Promise<void> {
    const slots = new Semaphore(this.largeObjects.copyConcurrency);
    const askFirst = (o: ListedObject) => !o.slo && (o.bytes === 0 || o.unverified);
    const plain = objects.filter((o) => !o.slo && !askFirst(o)).map((o) => o.name);
    await Promise.all([
      this.container.deleteMany(plain, opts),
      ...objects.filter((o) => o.slo).map((o) => slots.run(() => this.container.deleteManifest(o.name, opts))),
      ...objects.filter(askFirst).map((o) =>
        slots.run(async () => {
          const head = await this.container.head(o.name, opts);
          if (head) await this.largeObjects.deleteObject(o.name, head, opts);
        }),
      ),
    ]);
  }

  protected async _purgeUploads(olderThan: Date, opts: OpOptions): Promise<number> {
    await this.ready(opts);
    return this.uploads.purge(olderThan, opts);
  }

  protected override async _redirectURL(path: string, opts: RedirectOptions): Promise<string | null> {
    const method = opts.method ?? 'GET';
    if (!this.tempUrlMethods.has(method)) return null;
    const key = this.options.secretKey || (await this.tempUrlKey(opts));
    if (!key) return null;
    const expiresIn = opts.expiresIn ?? this.options.redirectExpirySeconds ?? DEFAULT_REDIRECT_EXPIRY_SECONDS;
    return tempUrl({
      storageUrl: await this.client.storageUrl(opts.signal),
      digest: tempUrlDigest((await this.client.info(opts.signal)).tempurl),
      container: this.container.name,
      object: this.layout.objectName(path),
      method,
      expires: Math.floor(Date.now() / 1000 + expiresIn),
      key,
      accessKey: this.options.accessKey,
      tenantId: this.options.tenantId,
    });
  }

  protected override _mapError(err: unknown, context: ErrorContext): Error | undefined {
    return mapSwiftError(this.name, err, context);
  }

  /** The Temp-URL-Key from the account's (or, with tempUrlContainerKey, the container's) metadata, looked up once. */
  private tempUrlKey(opts: OpOptions): Promise<string | undefined> {
    this.discoveredKey ??= (async () => {
      const response = await this.client.request({
        method: 'HEAD',
        ...(this.options.tempUrlContainerKey ? { container: this.container.name } : {}),
        ok: [200, 204],
        signal: opts.signal,
      });
      await discard(response);
      return header(response, this.options.tempUrlContainerKey ? 'x-container-meta-temp-url-key' : 'x-account-meta-temp-url-key');
    })().catch((err: unknown) => {
      this.discoveredKey = undefined;
      throw err;
    });
    return this.discoveredKey;
  }

  /**
   * Flat listings for walkFlat; DLO manifests (0 bytes in listings) and entries whose listing does
   * not describe their content (RGW's SLOs) are asked for their real size and time.
   */
  private flatListing(): FlatListingSource {
    const { layout, container } = this;
    return {
      driverName: this.name,
      async *files(dir, startAfter, opts) {
        const marker = startAfter === undefined ? undefined : layout.objectName(startAfter);
        for await (const object of container.listAll(layout.dirPrefix(dir), { ...opts, ...(marker === undefined ? {} : { marker }) })) {
          const path = layout.pathOf(object.name);
          if (path === undefined) continue;
          let info: { size: number; modTime: Date } = { size: object.bytes, modTime: object.modTime };
          if ((object.bytes === 0 && !object.slo) || object.unverified) info = (await container.head(object.name, opts).then(realSize)) ?? info;
          yield { path, size: info.size, modTime: info.modTime, isDir: false };
        }
      },
    };
  }
}

/** A large object's HEAD gives the size of its segments; anything else keeps the listing's figures. */
function realSize(head: ObjectHead | undefined): { size: number; modTime: Date } | undefined {
  return head && (head.dloManifest !== undefined || head.slo) ? { size: head.size, modTime: head.modTime } : undefined;
}

/** The options' sizes and limits, checked, with distribution's defaults. */
function resolveSettings(options: SwiftDriverOptions) {
  if (options === null || typeof options !== 'object') throw new InvalidParameterError(DRIVER_NAME, 'options', 'must be an object');
  if (typeof options.container !== 'string' || options.container === '' || options.container.includes('/')) {
    throw new InvalidParameterError(DRIVER_NAME, 'container', 'must be a non-empty string without "/"');
  }
  if (typeof options.authUrl !== 'string' || !/^https?:\/\//.test(options.authUrl))
    throw new InvalidParameterError(DRIVER_NAME, 'authUrl', 'must be an http(s) URL');
  const hasIdentity = options.username || options.applicationCredentialId || options.token;
  if (!hasIdentity) throw new InvalidParameterError(DRIVER_NAME, 'username', 'is required (or an application credential, or a token)');
  // distribution requires a password with the username; an application credential or a token replaces it.
  if (options.username && !options.password && !options.applicationCredentialSecret && !options.token) {
    throw new InvalidParameterError(DRIVER_NAME, 'password', 'is required with username (or an application credential secret, or a token)');
  }
  if (options.authVersion !== undefined && ![1, 2, 3].includes(options.authVersion)) {
    throw new InvalidParameterError(DRIVER_NAME, 'authVersion', `must be 1, 2 or 3, got ${String(options.authVersion)}`);
  }
  if (options.endpointType !== undefined && !['public', 'internal', 'admin'].includes(options.endpointType)) {
    throw new InvalidParameterError(DRIVER_NAME, 'endpointType', `must be public, internal or admin, got ${JSON.stringify(options.endpointType)}`);
  }
  const redirectExpirySeconds = options.redirectExpirySeconds ?? DEFAULT_REDIRECT_EXPIRY_SECONDS;
  if (!(Number.isFinite(redirectExpirySeconds) && redirectExpirySeconds > 0)) {
    throw new InvalidParameterError(DRIVER_NAME, 'redirectExpirySeconds', 'must be a positive number of seconds');
  }
  return {
    chunkSize: integerOption(DRIVER_NAME, 'chunkSize', options.chunkSize, { default: DEFAULT_CHUNK_SIZE, min: MIN_CHUNK_SIZE }),
    segmentConcurrency: integerOption(DRIVER_NAME, 'segmentConcurrency', options.segmentConcurrency, { default: DEFAULT_SEGMENT_CONCURRENCY, min: 1 }),
    copyConcurrency: integerOption(DRIVER_NAME, 'copyConcurrency', options.copyConcurrency, { default: DEFAULT_COPY_CONCURRENCY, min: 1 }),
    maxAttempts: integerOption(DRIVER_NAME, 'maxAttempts', options.maxAttempts, { default: DEFAULT_MAX_ATTEMPTS, min: 1 }),
    silenceTimeoutMs: integerOption(DRIVER_NAME, 'silenceTimeoutMs', options.silenceTimeoutMs, { default: DEFAULT_SILENCE_TIMEOUT_MS, min: 1 }),
  };
}
