/**
 * Runs each conformance test under a fresh random prefix and checks afterwards that it left
 * nothing behind: no committed file or directory under the prefix, no unfinished upload at any
 * path the test opened a writer on, and nothing reported by the driver's `leftovers` hook.
 *
 * The check runs inside the test (after the test's own deferred cleanup) rather than in a mocha
 * afterEach hook: a failing hook makes mocha abandon every later test of the suite, whereas here
 * only the offending test fails, and the prefix is then wiped so later tests start clean.
 */
import assert from 'node:assert/strict';
import { hasLeftovers, isPathNotFound, isValidPath, type FileInfo, type StorageDriver } from '@stowage/core';
import { randomName } from '../data';
import type { ConformanceCapabilities, ConformanceOptions, SizeProfile } from '../options';

export interface TestContext {
  /** The driver under test; writers opened through it are remembered for the leftover check. */
  readonly driver: StorageDriver;
  /** This test's private root, `/` + a random name; nothing exists there when the test starts. */
  readonly prefix: string;
  readonly profile: SizeProfile;
  readonly options: ConformanceOptions;
  readonly capabilities: ConformanceCapabilities;
  /** How long to wait so that two writes get distinguishable modTimes. */
  readonly modTimeResolutionMs: number;
  /** `prefix` joined with a relative path: path('/a/b') and path('a/b') are `${prefix}/a/b`. */
  path(relative: string): string;
  /** A second driver instance over the same storage (options.newInstance); only in tests that require it. */
  newInstance(): Promise<StorageDriver>;
  /** Runs `fn` after the test body, even when it fails, last registered first (Go's defer). */
  defer(fn: () => unknown): void;
  /** Deferred delete of `path`, tolerating PathNotFoundError (distribution's deletePath). */
  deleteAfter(path: string): void;
  /** What the driver's `leftovers` hook reports below `prefix` (the prefix by default); [] without a hook. */
  leftovers(prefix?: string): Promise<string[]>;
}

export interface TestSettings {
  /** Register the test as skipped, with this reason in its title. */
  skip?: string;
}

export type TestBody = (t: TestContext) => Promise<void>;

export interface HarnessConfig {
  options: ConformanceOptions;
  profile: SizeProfile;
}

export class Harness {
  private driverInstance: StorageDriver | undefined;

  constructor(private readonly config: HarnessConfig) {}

  get options(): ConformanceOptions {
    return this.config.options;
  }

  get profile(): SizeProfile {
    return this.config.profile;
  }

  /** The driver's declared capabilities, overridden by the options' (known once the driver is built). */
  get capabilities(): ConformanceCapabilities {
    return { ...this.driverInstance?.supports, ...this.config.options.capabilities };
  }

  /** The options' leftovers hook, else the driver's own leftovers(prefix), else none. */
  private get leftoversHook(): ((driver: StorageDriver, prefix: string) => Promise<string[]>) | undefined {
    if (this.config.options.leftovers) return this.config.options.leftovers;
    return this.driverInstance && hasLeftovers(this.driverInstance)
      ? (driver, prefix) => (hasLeftovers(driver) ? driver.leftovers(prefix) : Promise.resolve([]))
      : undefined;
  }

  /** The reason resume-from-new-instance tests are skipped, or undefined when they can run. */
  get newInstanceSkipReason(): string | undefined {
    return this.config.options.newInstance ? undefined : 'no newInstance hook in the conformance options';
  }

  get driver(): StorageDriver {
    if (!this.driverInstance) throw new Error('the conformance suite has no driver: its before() hook did not run or failed');
    return this.driverInstance;
  }

  async start(createDriver: () => StorageDriver | Promise<StorageDriver>): Promise<void> {
    const driver = await createDriver();
    assert.ok(driver && typeof driver.name === 'string' && driver.name.length > 0, 'createDriver must return a driver with a non-empty name');
    this.driverInstance = driver;
  }

  /** Registers one mocha test that runs `body` under a fresh prefix and then checks for leftovers. */
  test(title: string, body: TestBody, settings: TestSettings = {}): void {
    if (settings.skip !== undefined) {
      const reason = settings.skip;
      it(`${title} (skipped: ${reason})`, function () {
        this.skip();
      });
      return;
    }
    it(title, () => this.run(body));
  }

  private async run(body: TestBody): Promise<void> {
    const raw = this.driver;
    const prefix = `/${randomName()}`;
    const uploads = new Set<string>();
    const deferred: Array<() => unknown> = [];
    const options = this.config.options;

    const context: TestContext = {
      driver: trackWriters(raw, uploads),
      prefix,
      profile: this.config.profile,
      options,
      capabilities: this.capabilities,
      modTimeResolutionMs: options.modTimeResolutionMs ?? 1000,
      path: (relative) => `${prefix}${relative.startsWith('/') ? '' : '/'}${relative}`,
      newInstance: async () => {
        if (!options.newInstance) throw new Error('this test needs options.newInstance');
        const other = await options.newInstance(raw);
        return trackWriters(other, uploads);
      },
      defer: (fn) => {
        deferred.push(fn);
      },
      deleteAfter: (path) => {
        deferred.push(async () => {
          try {
            await raw.delete(path);
          } catch (err) {
            if (!isPathNotFound(err)) throw err;
          }
        });
      },
      leftovers: async (at = prefix) => (this.leftoversHook ? this.leftoversHook(raw, at) : []),
    };

    let failure: unknown;
    try {
      await body(context);
    } catch (err) {
      failure = err;
    }
    for (const fn of deferred.reverse()) {
      try {
        await fn();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) {
      await wipe(raw, prefix, uploads);
      throw failure;
    }
    const problems = await findLeftovers(raw, prefix, uploads, this.leftoversHook);
    if (problems.length > 0) {
      await wipe(raw, prefix, uploads);
      assert.fail(`the test left things behind under ${prefix}:\n  ${problems.join('\n  ')}`);
    }
  }
}

/** A view of `driver` that records every valid path a writer is opened on. */
function trackWriters(driver: StorageDriver, uploads: Set<string>): StorageDriver {
  return new Proxy(driver, {
    get(target, property) {
      if (property === 'writer') {
        return (path: string, append?: boolean, opts?: Parameters<StorageDriver['writer']>[2]) => {
          if (isValidPath(path)) uploads.add(path);
          return target.writer(path, append, opts);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function findLeftovers(
  driver: StorageDriver,
  prefix: string,
  uploads: Set<string>,
  leftovers: ((driver: StorageDriver, prefix: string) => Promise<string[]>) | undefined,
): Promise<string[]> {
  const problems: string[] = [];
  try {
    const info = await driver.stat(prefix);
    problems.push(`stat(${prefix}) found a ${info.isDir ? 'directory' : 'file'}; below it: ${await describeTree(driver, prefix)}`);
  } catch (err) {
    if (!isPathNotFound(err)) problems.push(`stat(${prefix}) failed with ${describeError(err)} instead of PathNotFoundError`);
  }
  try {
    const children = await driver.list(prefix);
    problems.push(`list(${prefix}) returned ${JSON.stringify(children)}`);
  } catch (err) {
    if (!isPathNotFound(err)) problems.push(`list(${prefix}) failed with ${describeError(err)} instead of PathNotFoundError`);
  }
  // Nothing is committed under the prefix any more, so a writer that can append here can only
  // be continuing an unfinished upload the test forgot to cancel.
  for (const path of uploads) {
    try {
      const writer = await driver.writer(path, true);
      problems.push(`an unfinished upload is still resumable at ${path} (${writer.size} bytes)`);
      await writer.cancel().catch(() => undefined);
    } catch (err) {
      if (!isPathNotFound(err)) problems.push(`writer(${path}, true) failed with ${describeError(err)} instead of PathNotFoundError`);
    }
  }
  if (leftovers) {
    const left = await leftovers(driver, prefix);
    if (left.length > 0) problems.push(`the driver's leftovers hook reports ${JSON.stringify(left)}`);
  }
  return problems;
}

/** Best-effort removal of everything a failed test may have left, so later tests start clean. */
async function wipe(driver: StorageDriver, prefix: string, uploads: Set<string>): Promise<void> {
  for (const path of uploads) {
    try {
      const writer = await driver.writer(path, true);
      await writer.cancel();
    } catch {
      // nothing there, or the driver is broken; the failure being reported says enough
    }
  }
  await driver.delete(prefix).catch(() => undefined);
}

async function describeTree(driver: StorageDriver, root: string): Promise<string> {
  const entries: FileInfo[] = [];
  try {
    await driver.walk(root, (info) => {
      entries.push(info);
      return entries.length >= 20 ? 'stop' : undefined;
    });
  } catch (err) {
    return `(walk failed: ${describeError(err)})`;
  }
  if (entries.length === 0) return '(walk shows nothing)';
  return entries.map((e) => `${e.path}${e.isDir ? '/' : ` (${e.size} B)`}`).join(', ') + (entries.length >= 20 ? ', ...' : '');
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}${(err as { code?: unknown }).code ? ` [${String((err as { code?: unknown }).code)}]` : ''}: ${err.message}`;
  return String(err);
}
