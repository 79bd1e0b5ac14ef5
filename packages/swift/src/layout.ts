/**
 * Object names, as distribution's swift driver makes them plus the driver's own segment names:
 *
 *   <prefix>/files<root><path>                     the file (plain object, SLO or DLO manifest)
 *   <prefix>/segments/~files<root><path>/~<gen>/<n>.<session>  segment n (16 digits, from 1) of one
 *                                                  generation, written by one writer session
 *   <prefix>/segments/~files<root><path>/~<gen>/manifest-<level>-<k>  a nested manifest (past the segment limit)
 *   <prefix>/segments/~uploads<root><path>          marker of the path's unfinished upload (JSON)
 *
 * distribution's own segments are `<prefix>/segments/<3 hex>/<37 hex>/<16 digits>`; `~` never
 * appears in a hex name nor in a valid path, so neither namespace can collide with the other.
 * Names are trimmed of leading and trailing slashes, as distribution trims them.
 */
import { ROOT, isValidPath } from '@stowage/core';

/** What a segment or nested-manifest name says; `index` and `session` only for segments. */
export interface ParsedSegmentName {
  path: string;
  generation: string;
  index?: number;
  session?: string;
}

export class SwiftLayout {
  /** e.g. `registry/files` (the name of the root, and the listing prefix without its slash). */
  private readonly filesRoot: string;
  /** The root directory as `/a/b` (or empty): below `files`, and below `~files`/`~uploads` in segment names. */
  private readonly rootSuffix: string;

  constructor(
    readonly prefix: string,
    rootDirectory: string,
  ) {
    const root = rootDirectory.replace(/\/+$/, '');
    this.rootSuffix = root && !root.startsWith('/') ? `/${root}` : root;
    this.filesRoot = trim(`${prefix}/files${this.rootSuffix}`);
  }

  /** The object holding `path`. */
  objectName(path: string): string {
    return path === ROOT ? this.filesRoot : `${this.filesRoot}${path}`;
  }

  /** The listing prefix of everything below `path`. */
  dirPrefix(path: string): string {
    return `${this.objectName(path)}/`;
  }

  /** The path an object name stands for, or undefined for names outside the files tree or invalid as paths. */
  pathOf(name: string): string | undefined {
    if (!name.startsWith(`${this.filesRoot}/`)) return undefined;
    const path = name.slice(this.filesRoot.length);
    return isValidPath(path) ? path : undefined;
  }

  /** Where every segment and marker of this driver lives: distribution's segments folder. */
  get segmentsPrefix(): string {
    return `${trim(`${this.prefix}/segments`)}/`;
  }

  /** Prefix of every generation of `path` (its own only: `/a/~...` never matches `/a/b/...`). */
  generationsPrefix(path: string): string {
    return `${this.segmentsPrefix}~files${this.rootSuffix}${path}/~`;
  }

  /** Prefix of the segments of `path` and of every path below it. */
  segmentsBelow(path: string): string {
    return `${this.segmentsPrefix}~files${this.rootSuffix}${path === ROOT ? '' : path}/`;
  }

  generationDir(path: string, generation: string): string {
    return `${this.generationsPrefix(path)}${generation}/`;
  }

  /**
   * Segment `index` of a generation as writer `session` wrote it: every session has names of its
   * own, so a fenced writer can never overwrite a segment the upload's live writer relies on.
   * Without a session (move's copies, and uploads of earlier versions) the name is the bare index.
   */
  segmentName(path: string, generation: string, index: number, session?: string): string {
    return `${this.generationDir(path, generation)}${String(index).padStart(16, '0')}${session ? `.${session}` : ''}`;
  }

  /** A manifest over up to max_manifest_segments entries of the level below, when one SLO cannot list them all. */
  subManifestName(path: string, generation: string, level: number, k: number): string {
    return `${this.generationDir(path, generation)}manifest-${level}-${String(k).padStart(8, '0')}`;
  }

  /**
   * (path, generation) of one of our segment or nested-manifest names, with `index` and `session`
   * ('' for a bare index) for segments; else undefined.
   */
  parseSegment(name: string): ParsedSegmentName | undefined {
    const head = `${this.segmentsPrefix}~files${this.rootSuffix}`;
    if (!name.startsWith(head)) return undefined;
    const match = /^(\/.+)\/~([^/]+)\/(?:(\d{16})(?:\.([0-9a-z]+))?|manifest-\d+-\d{8})$/.exec(name.slice(head.length));
    if (!match || !isValidPath(match[1])) return undefined;
    const parsed: ParsedSegmentName = { path: match[1], generation: match[2]! };
    if (match[3] !== undefined) {
      parsed.index = Number(match[3]);
      parsed.session = match[4] ?? '';
    }
    return parsed;
  }

  uploadMarker(path: string): string {
    return `${this.segmentsPrefix}~uploads${this.rootSuffix}${path}`;
  }

  /** Prefix of every upload marker, and the path a marker stands for. */
  get uploadMarkersPrefix(): string {
    return `${this.segmentsPrefix}~uploads${this.rootSuffix}/`;
  }

  markerPath(name: string): string | undefined {
    const head = `${this.segmentsPrefix}~uploads${this.rootSuffix}`;
    if (!name.startsWith(`${head}/`)) return undefined;
    const path = name.slice(head.length);
    return isValidPath(path) ? path : undefined;
  }
}

function trim(name: string): string {
  return name.replace(/^\/+/, '').replace(/\/+$/, '');
}
