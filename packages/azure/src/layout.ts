/**
 * Blob names, exactly as distribution's azure driver forms them: the root directory without its
 * trailing slashes, then the path, then every leading slash dropped. So with `rootdirectory:
 * /registry/` the path `/docker/registry/v2/x` is the blob `registry/docker/registry/v2/x`, and
 * with no root directory it is `docker/registry/v2/x`. A container written by one driver reads
 * back through the other.
 */
import { ROOT, isValidComponent, joinPath } from '@stowage/core';

function trimLeadingSlashes(name: string): string {
  let i = 0;
  while (name[i] === '/') i++;
  return name.slice(i);
}

function trimTrailingSlashes(name: string): string {
  let end = name.length;
  while (end > 0 && name[end - 1] === '/') end--;
  return name.slice(0, end);
}

export class BlobLayout {
  /** The root directory as given, without trailing slashes. */
  private readonly root: string;
  /** What every blob name of this driver starts with: '' or `<root>/`. */
  readonly rootPrefix: string;

  constructor(rootDirectory: string) {
    this.root = trimTrailingSlashes(rootDirectory);
    const prefix = trimLeadingSlashes(this.root);
    this.rootPrefix = prefix === '' ? '' : `${prefix}/`;
  }

  /** The blob of a (valid, non-root) path. */
  blobName(path: string): string {
    return trimLeadingSlashes(this.root + path);
  }

  /** The name prefix of everything below a directory path ('/' included). */
  dirPrefix(path: string): string {
    return path === ROOT ? this.rootPrefix : `${this.blobName(path)}/`;
  }

  /** The path of a blob name, or undefined when the name is outside the root or no valid path maps to it. */
  pathOf(blobName: string): string | undefined {
    if (!blobName.startsWith(this.rootPrefix)) return undefined;
    const rest = blobName.slice(this.rootPrefix.length);
    if (rest === '') return undefined;
    const components = rest.split('/');
    return components.every(isValidComponent) ? `/${rest}` : undefined;
  }

  /**
   * The direct child of directory `dir` that a listed name (a blob name, or a virtual directory
   * prefix ending in '/') stands for, or undefined when no valid path component does (names with
   * characters paths never use, empty components, directory-marker blobs).
   */
  childOf(dir: string, listedName: string): string | undefined {
    const prefix = this.dirPrefix(dir);
    if (!listedName.startsWith(prefix)) return undefined;
    const rest = listedName.slice(prefix.length);
    const slash = rest.indexOf('/');
    const name = slash < 0 ? rest : rest.slice(0, slash);
    return isValidComponent(name) ? joinPath(dir, name) : undefined;
  }
}
