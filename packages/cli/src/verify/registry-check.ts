/**
 * Checks a registry's storage in distribution's layout (docker/distribution registry/storage
 * paths.go) through any driver:
 *
 *   <root>/blobs/<alg>/<first two hex>/<hex>/data                         blob content
 *   <root>/repositories/<name>/_layers/<alg>/<hex>/link                   "<alg>:<hex>"
 *   <root>/repositories/<name>/_manifests/revisions/<alg>/<hex>/link
 *   <root>/repositories/<name>/_manifests/tags/<tag>/current/link
 *   <root>/repositories/<name>/_manifests/tags/<tag>/index/<alg>/<hex>/link
 *   <root>/repositories/<name>/_uploads/...                               unfinished uploads (not checked)
 *
 * Every blob is streamed through its hash and compared with its digest; every link must hold a
 * digest naming an existing blob (and, under _layers and revisions, its own directory's digest);
 * every manifest revision must parse and reference blobs that exist.
 */
import { createHash } from 'node:crypto';
import { isPathNotFound, Semaphore, type StorageDriver } from '@stowage/core';

/** What verify can find wrong. */
export type ProblemKind = 'digest-mismatch' | 'missing-blob' | 'bad-link' | 'bad-manifest' | 'bad-path';

export interface Problem {
  kind: ProblemKind;
  /** The storage path where the problem is. */
  path: string;
  detail: string;
}

export interface VerifySummary {
  root: string;
  blobs: number;
  blobBytes: number;
  repositories: number;
  links: number;
  manifests: number;
  problems: Problem[];
}

export interface VerifyHooks {
  /** Called before the blobs are hashed, with how many and how many bytes. */
  onBlobsFound?(count: number, bytes: number): void;
  /** Called for every chunk hashed. */
  onBytes?(bytes: number): void;
  /** Called when a phase starts: a short description. */
  onPhase?(text: string): void;
}

/** Hash algorithms distribution accepts in digests, by Node's names. */
const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
/** distribution refuses manifests larger than 4 MiB; anything bigger here is not a manifest. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function isDigest(text: string): boolean {
  const match = /^([a-z0-9]+):([0-9a-f]+)$/.exec(text);
  return match !== null && HEX_LENGTH[match[1]!] === match[2]!.length;
}

interface BlobFile {
  digest: string;
  path: string;
  size: number;
}

interface LinkFile {
  path: string;
  repository: string;
  /** _layers, revisions, tag current, tag index. */
  kind: 'layer' | 'revision' | 'tag' | 'tag-index';
  /** The digest the directory names (layers, revisions, tag index entries). */
  expected?: string;
}

/** The files below `dir`, or none when it does not exist. */
async function filesBelow(driver: StorageDriver, dir: string): Promise<Array<{ path: string; size: number }>> {
  const files: Array<{ path: string; size: number }> = [];
  try {
    await driver.walk(dir, (info) => {
      if (!info.isDir) files.push({ path: info.path, size: info.size });
    });
  } catch (err) {
    if (isPathNotFound(err)) return [];
    throw err;
  }
  return files;
}

class RegistryCheck {
  readonly problems: Problem[] = [];
  /** Blobs whose data exists, by digest; the value says whether its content matched. */
  private readonly blobs = new Map<string, boolean>();
  /** Layer links per repository, by digest. */
  private readonly layerLinks = new Map<string, Set<string>>();
  private readonly revisionLinks = new Map<string, Set<string>>();

  /** The root as a prefix for joining: '' for '/'. */
  private readonly base: string;

  constructor(
    private readonly driver: StorageDriver,
    private readonly root: string,
    private readonly limit: Semaphore,
    private readonly hooks: VerifyHooks,
  ) {
    this.base = root === '/' ? '' : root;
  }

  private problem(kind: ProblemKind, path: string, detail: string): void {
    this.problems.push({ kind, path, detail });
  }

  private blobPath(digest: string): string {
    const [alg, hex] = digest.split(':') as [string, string];
    return `${this.base}/blobs/${alg}/${hex.slice(0, 2)}/${hex}/data`;
  }

  async findBlobs(): Promise<BlobFile[]> {
    const prefix = `${this.base}/blobs/`;
    const blobs: BlobFile[] = [];
    for (const file of await filesBelow(this.driver, `${this.base}/blobs`)) {
      const parts = file.path.slice(prefix.length).split('/');
      const [alg, twoHex, hex, name] = parts;
      const digest = `${alg}:${hex}`;
      if (parts.length !== 4 || name !== 'data' || !isDigest(digest) || hex!.slice(0, 2) !== twoHex) {
        this.problem('bad-path', file.path, "not a blob in distribution's layout (blobs/<alg>/<xx>/<hex>/data)");
        continue;
      }
      blobs.push({ digest, path: file.path, size: file.size });
    }
    return blobs;
  }

  /** Streams one blob through its hash; records whether it matched. */
  async hashBlob(blob: BlobFile): Promise<void> {
    const alg = blob.digest.split(':')[0]!;
    const hash = createHash(ALGORITHMS[alg]!);
    const reader = await this.driver.reader(blob.path);
    for await (const chunk of reader) {
      hash.update(chunk as Buffer);
      this.hooks.onBytes?.((chunk as Buffer).length);
    }
    const actual = `${alg}:${hash.digest('hex')}`;
    const matches = actual === blob.digest;
    this.blobs.set(blob.digest, matches);
    if (!matches) this.problem('digest-mismatch', blob.path, `content hashes to ${actual}, not ${blob.digest}`);
  }

  /** Classifies the link files below repositories/; returns them and the repository names. */
  async findLinks(): Promise<{ links: LinkFile[]; repositories: Set<string> }> {
    const prefix = `${this.base}/repositories/`;
    const links: LinkFile[] = [];
    const repositories = new Set<string>();
    for (const file of await filesBelow(this.driver, `${this.base}/repositories`)) {
      const relative = file.path.slice(prefix.length);
      const marker = /\/(_layers|_manifests|_uploads)\//.exec(relative);
      if (!marker) {
        this.problem('bad-path', file.path, 'a file outside _layers, _manifests and _uploads');
        continue;
      }
      const repository = relative.slice(0, marker.index);
      repositories.add(repository);
      if (marker[1] === '_uploads') continue; // unfinished uploads: purge-uploads' business
      const rest = relative.slice(marker.index + 1).split('/');
      let link: LinkFile | undefined;
      if (rest[0] === '_layers' && rest.length === 4 && rest[3] === 'link')
        link = { path: file.path, repository, kind: 'layer', expected: `${rest[1]}:${rest[2]}` };
      else if (rest[0] === '_manifests' && rest[1] === 'revisions' && rest.length === 5 && rest[4] === 'link')
        link = { path: file.path, repository, kind: 'revision', expected: `${rest[2]}:${rest[3]}` };
      else if (rest[0] === '_manifests' && rest[1] === 'tags' && rest.length === 5 && rest[3] === 'current' && rest[4] === 'link')
        link = { path: file.path, repository, kind: 'tag' };
      else if (rest[0] === '_manifests' && rest[1] === 'tags' && rest.length === 7 && rest[3] === 'index' && rest[6] === 'link')
        link = { path: file.path, repository, kind: 'tag-index', expected: `${rest[4]}:${rest[5]}` };
      if (link) links.push(link);
      else this.problem('bad-path', file.path, "not a link in distribution's layout");
    }
    return { links, repositories };
  }

  /** Reads one link: a digest naming an existing blob (and its own directory's digest, where it has one). */
  async checkLink(link: LinkFile): Promise<void> {
    const target = (await this.driver.getContent(link.path)).toString('utf8').trim();
    if (!isDigest(target)) {
      this.problem('bad-link', link.path, `does not hold a digest: ${JSON.stringify(target.slice(0, 80))}`);
      return;
    }
    if (link.expected !== undefined && target !== link.expected) {
      this.problem('bad-link', link.path, `holds ${target}, but its directory names ${link.expected}`);
    }
    if (!this.blobs.has(target)) this.problem('missing-blob', link.path, `links to ${target}, which has no blob data (${this.blobPath(target)})`);
    const index = link.kind === 'layer' ? this.layerLinks : link.kind === 'revision' ? this.revisionLinks : undefined;
    if (index) {
      if (!index.has(link.repository)) index.set(link.repository, new Set());
      index.get(link.repository)!.add(target);
    }
  }

  /** Parses one manifest revision and checks that what it references exists. */
  async checkManifest(repository: string, digest: string): Promise<void> {
    const path = this.blobPath(digest);
    const info = await this.driver.stat(path);
    if (info.size > MAX_MANIFEST_BYTES) {
      this.problem('bad-manifest', path, `manifest ${digest} of ${repository} is ${info.size} bytes, over distribution's 4 MiB limit`);
      return;
    }
    let manifest: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse((await this.driver.getContent(path)).toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      manifest = parsed as Record<string, unknown>;
    } catch (err) {
      this.problem('bad-manifest', path, `manifest ${digest} of ${repository} does not parse: ${(err as Error).message}`);
      return;
    }
    const references = manifestReferences(manifest);
    if (references === undefined) {
      this.problem(
        'bad-manifest',
        path,
        `manifest ${digest} of ${repository} is of no known kind (mediaType ${JSON.stringify(manifest.mediaType)}, schemaVersion ${JSON.stringify(manifest.schemaVersion)})`,
      );
      return;
    }
    for (const reference of references) {
      if (!isDigest(reference.digest)) {
        this.problem('bad-manifest', path, `manifest ${digest} of ${repository} references a malformed digest ${JSON.stringify(reference.digest)}`);
      } else if (!this.blobs.has(reference.digest)) {
        this.problem('missing-blob', path, `manifest ${digest} of ${repository} references ${reference.role} ${reference.digest}, which has no blob data`);
      } else if (reference.role === 'manifest' && !this.revisionLinks.get(repository)?.has(reference.digest)) {
        this.problem(
          'missing-blob',
          path,
          `manifest list ${digest} of ${repository} references manifest ${reference.digest}, which ${repository} has no revision of`,
        );
      } else if (reference.role !== 'manifest' && !this.layerLinks.get(repository)?.has(reference.digest)) {
        this.problem(
          'bad-link',
          path,
          `manifest ${digest} of ${repository} references ${reference.role} ${reference.digest}, which is not linked in ${repository}/_layers`,
        );
      }
    }
  }

  async run(): Promise<VerifySummary> {
    const each = <T>(items: readonly T[], task: (item: T) => Promise<void>) =>
      Promise.all(
        items.map((item) =>
          this.limit.run(() =>
            task(item).catch((err: unknown) => {
              // A blob or link that vanished mid-run is a finding; anything else stops the run.
              if (!isPathNotFound(err)) throw err;
              this.problem('missing-blob', (err as { path?: string }).path ?? '?', 'disappeared while verifying');
            }),
          ),
        ),
      );

    await this.driver.stat(this.root); // a wrong root is an error, not an empty registry
    this.hooks.onPhase?.('finding blobs');
    const blobs = await this.findBlobs();
    const blobBytes = blobs.reduce((sum, b) => sum + b.size, 0);
    this.hooks.onBlobsFound?.(blobs.length, blobBytes);
    await each(blobs, (blob) => this.hashBlob(blob));

    this.hooks.onPhase?.('checking links');
    const { links, repositories } = await this.findLinks();
    await each(links, (link) => this.checkLink(link));

    this.hooks.onPhase?.('checking manifests');
    const revisions = [...this.revisionLinks].flatMap(([repository, digests]) =>
      [...digests].filter((d) => this.blobs.get(d) === true).map((digest) => ({ repository, digest })),
    );
    await each(revisions, ({ repository, digest }) => this.checkManifest(repository, digest));

    return {
      root: this.root,
      blobs: blobs.length,
      blobBytes,
      repositories: repositories.size,
      links: links.length,
      manifests: revisions.length,
      problems: this.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    };
  }
}

interface Reference {
  role: 'config' | 'layer' | 'manifest';
  digest: string;
}

function digestsOf(list: unknown, role: Reference['role'], field = 'digest'): Reference[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((entry) => ({ role, digest: String((entry as Record<string, unknown> | null)?.[field] ?? '') }));
}

/** Foreign layers (Windows base layers) live elsewhere: distribution never stores them. */
function isForeignLayer(entry: unknown): boolean {
  const mediaType = (entry as { mediaType?: unknown } | null)?.mediaType;
  return typeof mediaType === 'string' && mediaType.includes('foreign');
}

/**
 * The blobs a manifest references: image manifests (Docker schema 2, OCI) their config and layers,
 * manifest lists and OCI indexes their manifests, schema 1 its fsLayers. undefined: no known kind.
 */
function manifestReferences(manifest: Record<string, unknown>): Reference[] | undefined {
  if (Array.isArray(manifest.manifests)) return digestsOf(manifest.manifests, 'manifest');
  if (manifest.schemaVersion === 1) return digestsOf(manifest.fsLayers, 'layer', 'blobSum');
  if (manifest.schemaVersion === 2 && manifest.config !== null && typeof manifest.config === 'object' && Array.isArray(manifest.layers)) {
    const config: Reference = { role: 'config', digest: String((manifest.config as Record<string, unknown>).digest ?? '') };
    return [
      config,
      ...digestsOf(
        manifest.layers.filter((layer) => !isForeignLayer(layer)),
        'layer',
      )!,
    ];
  }
  return undefined;
}

/** Runs every check; problems are collected in the summary, only driver errors reject. */
export function verifyRegistry(driver: StorageDriver, root: string, concurrency: number, hooks: VerifyHooks = {}): Promise<VerifySummary> {
  return new RegistryCheck(driver, root.replace(/\/+$/, '') || '/', new Semaphore(Math.max(1, concurrency)), hooks).run();
}
