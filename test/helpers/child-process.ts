import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { MiB, isPathNotFound, type StorageDriver } from '@stowage/core';
import { TestData } from '@stowage/conformance';

/** A TestData seed from a readable name, so a test and its child processes agree on the bytes. */
function seedOf(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32LE(0);
}

/** Bytes [offset, offset + length) of the conformance suite's TestData for a named seed. */
export function pattern(seed: string, offset: number, length: number): Buffer {
  return new TestData(offset + length, seedOf(seed)).slice(offset, length);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What a child script can use: `pattern(seed, offset, length)`, like the function above. */
export const PATTERN_PRELUDE = `
const { createHash } = require('node:crypto');
const { TestData } = require(${JSON.stringify(require.resolve('@stowage/conformance'))});
const pattern = (seed, offset, length) => new TestData(offset + length, createHash('sha256').update(seed).digest().readUInt32LE(0)).slice(offset, length);
`;

/**
 * Runs `script` in a separate Node process (a real other process, as a crashed or restarted
 * registry would be) and resolves with its exit code and output once it exits.
 */
export function runNodeScript(script: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PATTERN_PRELUDE + script], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The body of a child script that stages an upload the way a registry's PATCH requests do:
 * writer(path, false), `chunks` of pattern(seed) written in turn, close(), then the size printed.
 * `driver` must be in scope in the script.
 */
export function stageUploadSnippet(path: string, chunks: number[], seed = 'upload'): string {
  return `
    const writer = await driver.writer(${JSON.stringify(path)}, false);
    let offset = 0;
    for (const size of ${JSON.stringify(chunks)}) {
      await writer.write(pattern(${JSON.stringify(seed)}, offset, size));
      offset += size;
    }
    await writer.close();
    console.log(String(writer.size));
  `;
}

/**
 * A separate Node process that builds `new <className>(options)` from the built module `modulePath`,
 * runs stageUploadSnippet(path, chunks, seed) and exits after the driver's destroy(), if it has one:
 * an upload staged and closed by another process, as a registry's PATCHes leave it.
 */
function stageUploadInChild(modulePath: string, className: string, options: unknown, path: string, chunks: number[], seed = 'upload') {
  return runNodeScript(`
    const { ${className} } = require(${JSON.stringify(modulePath)});
    (async () => {
      const driver = new ${className}(${JSON.stringify(options)});
      ${stageUploadSnippet(path, chunks, seed)}
      await driver.destroy?.();
    })().catch((err) => { console.error(err); process.exit(3); });
  `);
}

/**
 * What a test does after a child ran stageUploadSnippet(path, chunks, seed) and closed: checks that
 * nothing is visible (stat of `path`, list of `parent`, a walk of the root), then resumes with
 * writer(path, true), which must start at `staged` bytes, appends `more` bytes of the same
 * pattern, commits, and checks the whole content's sha256.
 */
async function resumeStagedUpload(driver: StorageDriver, path: string, expect: { parent: string; seed: string; staged: number; more: number }): Promise<void> {
  await assert.rejects(driver.stat(path), isPathNotFound, 'stat before commit');
  await assert.rejects(driver.list(expect.parent), isPathNotFound, 'list of the parent before commit');
  const walked: string[] = [];
  await driver.walk('/', (info) => void walked.push(info.path));
  assert.deepEqual(walked, [], 'walk before commit');

  const resumed = await driver.writer(path, true);
  assert.equal(resumed.size, expect.staged);
  await resumed.write(pattern(expect.seed, expect.staged, expect.more));
  await resumed.commit();
  assert.equal(sha256(await driver.getContent(path)), sha256(pattern(expect.seed, 0, expect.staged + expect.more)));
}

/**
 * The upload the cross-process resume tests share: 7 MiB in chunks of 3 + 3 + 1 MiB (they straddle
 * 2 MiB segments and 5 MiB parts), staged and closed by a child process, then resumed here with
 * 4 MiB + 5 bytes more.
 */
export const CROSS_PROCESS_UPLOAD = {
  path: '/t/blobs/resumed',
  parent: '/t',
  chunks: [3 * MiB, 3 * MiB, MiB],
  seed: 'resume',
  staged: 7 * MiB,
  more: 4 * MiB + 5,
};

/** Stages CROSS_PROCESS_UPLOAD in a child process (stageUploadInChild) and checks that it closed it at 7 MiB. */
export async function stageCrossProcessUpload(modulePath: string, className: string, options: unknown): Promise<void> {
  const { path, chunks, seed, staged } = CROSS_PROCESS_UPLOAD;
  const child = await stageUploadInChild(modulePath, className, options, path, chunks, seed);
  assert.equal(child.code, 0, child.stderr);
  assert.equal(child.stdout.trim(), String(staged));
}

/** resumeStagedUpload of CROSS_PROCESS_UPLOAD on `driver`: nothing visible first, then resumed, committed and checked. */
export function resumeCrossProcessUpload(driver: StorageDriver): Promise<void> {
  const { path, parent, seed, staged, more } = CROSS_PROCESS_UPLOAD;
  return resumeStagedUpload(driver, path, { parent, seed, staged, more });
}
