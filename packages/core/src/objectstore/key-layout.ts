/**
 * How an object store's keys map to driver paths, exactly as distribution's s3-aws and oss drivers
 * map them: `rootdirectory` without its trailing slashes, then the path, then the leading slashes
 * trimmed. So `/a/b` under `reg` is `reg/a/b`, and under no root directory simply `a/b`.
 *
 * Unfinished uploads live under `<root>/.stowage~uploads/`: `~` is not a valid path character, so
 * no path maps there and list/walk, which drop invalid names, never show it.
 */
import { ROOT, isValidPath } from '../paths';

export const UPLOADS_DIR_NAME = '.stowage~uploads';
const STATE_NAME = '~upload.json';
const TAIL_PREFIX = '~tail.';

export class ObjectKeyLayout {
  /** The key prefix of the root directory: '' or `reg/`. */
  readonly rootPrefix: string;
  /** Where unfinished uploads are staged. */
  readonly uploadsPrefix: string;

  constructor(rootdirectory = '') {
    const trimmed = rootdirectory.replace(/\/+$/, '').replace(/^\/+/, '');
    this.rootPrefix = trimmed === '' ? '' : `${trimmed}/`;
    this.uploadsPrefix = `${this.rootPrefix}${UPLOADS_DIR_NAME}/`;
  }

  /** The key of a file path. */
  key(path: string): string {
    return this.rootPrefix + path.slice(1);
  }

  /** The prefix every key below directory `path` starts with (the root prefix for `/`). */
  dirPrefix(path: string): string {
    return path === ROOT ? this.rootPrefix : `${this.key(path)}/`;
  }

  /** The path a key maps back to, or undefined for keys outside the root or in a hidden namespace. */
  pathOf(key: string): string | undefined {
    if (!key.startsWith(this.rootPrefix)) return undefined;
    const path = `/${key.slice(this.rootPrefix.length)}`;
    return isValidPath(path) ? path : undefined;
  }

  /** The folder holding the staged state of the upload to `path`. */
  uploadDir(path: string): string {
    return path === ROOT ? this.uploadsPrefix : `${this.uploadsPrefix}${path.slice(1)}/`;
  }

  uploadStateKey(path: string): string {
    return this.uploadDir(path) + STATE_NAME;
  }

  /** A new key for the buffered tail of the upload to `path`; unique, so a crash never tears the old one. */
  tailKey(path: string, id: string): string {
    return `${this.uploadDir(path)}${TAIL_PREFIX}${id}`;
  }

  /** The upload path of a staged key (state or tail), or undefined if `key` is not one. */
  stagedUploadOf(key: string): { path: string; kind: 'state' | 'tail' } | undefined {
    if (!key.startsWith(this.uploadsPrefix)) return undefined;
    const rest = key.slice(this.uploadsPrefix.length);
    const slash = rest.lastIndexOf('/');
    if (slash < 0) return undefined;
    const path = `/${rest.slice(0, slash)}`;
    const name = rest.slice(slash + 1);
    if (!isValidPath(path)) return undefined;
    if (name === STATE_NAME) return { path, kind: 'state' };
    if (name.startsWith(TAIL_PREFIX)) return { path, kind: 'tail' };
    return undefined;
  }
}
