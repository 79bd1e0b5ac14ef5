/**
 * A registry-style blob upload: the client sends the blob in three chunks over two HTTP
 * requests. Each request opens the upload's writer (the second one with append = true, possibly
 * in another process), writes, and closes; the final one commits. The registry then moves the
 * blob to its content-addressed place and serves it back.
 *
 * Run it: npm run build && node build/examples/registry-upload.js [rootdirectory]
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDriver, readAll, type StorageDriver } from '@stowage/core';
import '@stowage/filesystem'; // registers the 'filesystem' driver with the factory

export async function registryUpload(driver: StorageDriver): Promise<{ digest: string; size: number }> {
  const uploadPath = '/docker/registry/v2/repositories/library/demo/_uploads/6f1c0c2e/data';
  const chunks = [Buffer.from('first chunk, '), Buffer.from('second chunk, '), Buffer.from('third and last chunk')];

  // Request 1 (PATCH): a new upload; write the first two chunks, then close so it can be resumed.
  const first = await driver.writer(uploadPath, false);
  await first.write(chunks[0]!);
  await first.write(chunks[1]!);
  await first.close();

  // Request 2 (PUT ?digest=...): reopen with append, continue where the first request stopped, commit.
  const second = await driver.writer(uploadPath, true);
  if (second.size !== chunks[0]!.length + chunks[1]!.length) throw new Error(`resumed at ${second.size} bytes`);
  await second.write(chunks[2]!);
  await second.commit();

  // Move the blob to its content-addressed path, as distribution's blob store does.
  const digest = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
  const blobPath = `/docker/registry/v2/blobs/sha256/${digest.slice(0, 2)}/${digest}/data`;
  await driver.move(uploadPath, blobPath);

  // Serve it back.
  const served = await readAll(await driver.reader(blobPath));
  if (!served.equals(Buffer.concat(chunks))) throw new Error('content differs after move');
  const info = await driver.stat(blobPath);
  return { digest: `sha256:${digest}`, size: info.size };
}

async function main(): Promise<void> {
  const root = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'stowage-example-')));
  const driver = createDriver('filesystem', { rootdirectory: root });
  try {
    const { digest, size } = await registryUpload(driver);
    console.log(`stored ${size} bytes as ${digest} under ${root}${process.argv[2] === undefined ? ' (a temporary directory, now removed)' : ''}`);
  } finally {
    if (process.argv[2] === undefined) await rm(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
