/**
 * Publishing into the tree: a staged file becomes a committed path by one rename (atomic: readers
 * see the old content or the new), and the rename is made durable by fsyncing its directory.
 * putContent, move and a writer's commit all publish this way.
 */
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidPathError, NotDurableError, PathNotFoundError } from '@stowage/core';
import { CREATE_ATTEMPTS, durability, errnoCode, exists, makeDirs, removeDirs } from './fs-util';
import type { Layout } from './layout';

export class Publisher {
  constructor(
    /** The driver, for its name in errors (a subclass sets its own name after the constructor). */
    private readonly driver: { readonly name: string },
    private readonly layout: Layout,
  ) {}

  private get name(): string {
    return this.driver.name;
  }

  /**
   * Renames `file` to the committed file of `path`, creating parent directories when missing
   * (and again if a concurrent prune removes them); directories it made are removed again if the
   * rename fails. `sourceGone` says what a missing `file` means (default: PathNotFoundError for
   * `path`). Returns the directory that now holds the file, for makeDurable.
   */
  async publish(file: string, path: string, operation: string, sourceGone?: () => Error | Promise<Error>): Promise<string> {
    const dest = this.layout.full(path);
    const created: string[] = [];
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await fsp.rename(file, dest);
          return dirname(dest);
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
            throw new InvalidPathError(this.name, path, 'the path is a directory', { operation, cause: err });
          }
          if (code === 'ENOTDIR') throw new InvalidPathError(this.name, path, 'a parent of the path is a file', { operation, cause: err });
          if (code !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw err;
          // ENOENT: the destination's parent is missing, or the source is gone.
          if (!(await exists(file))) throw sourceGone ? await sourceGone() : new PathNotFoundError(this.name, path, { operation, cause: err });
        }
        try {
          created.push(...(await makeDirs(dirname(dest))));
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'ENOTDIR' || code === 'EEXIST') {
            throw new InvalidPathError(this.name, path, 'a parent of the path is a file', { operation, cause: err });
          }
          throw err;
        }
      }
    } catch (err) {
      await removeDirs(created);
      throw err;
    }
  }

  /**
   * Fsyncs `dir` after a rename into it, once more if that fails; a second failure is a
   * NotDurableError, which says the change is published (the caller must not think it failed).
   */
  async makeDurable(dir: string, path: string, operation: string): Promise<void> {
    try {
      await durability.syncDir(dir);
    } catch {
      try {
        await durability.syncDir(dir);
      } catch (err) {
        throw new NotDurableError(this.name, path, operation, err);
      }
    }
  }
}
