import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPathNotFound } from '@stowage/core';
import { filesystemBackend, s3Backend, type CliBackend } from './backends';
import { describeRun, runStowage, tempDir, type StowageRun } from './run-stowage';

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** No stack trace without --debug: no "    at " frame lines. */
function assertNoStack(run: StowageRun): void {
  assert.doesNotMatch(run.stderr, /^\s+at /m, describeRun(run));
}

/**
 * Every operation through the real bin against one backend: put (file and stdin), stat, cat
 * (with --offset), ls, du, walk, mv, rm, purge-uploads, in human and JSON output, and typed errors.
 */
function describeOperations(label: string, makeBackend: (context: Mocha.Context) => Promise<CliBackend>) {
  describe(`stowage operations on ${label}`, function () {
    let backend: CliBackend;
    let local: { path: string; remove: () => Promise<void> };
    // 6 MiB: more than one S3 part (the test bucket's chunksize is 5 MiB), so put streams in parts.
    const big = randomBytes(6 * 1024 * 1024);
    let bigFile: string;
    const stowage = (args: string[], input?: string) => runStowage([...args, ...backend.args], input === undefined ? {} : { input });
    const ok = async (args: string[], input?: string) => {
      const run = await stowage(args, input);
      assert.equal(run.code, 0, describeRun(run));
      for (const secret of backend.secrets) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'a credential was printed');
      return run;
    };

    before(async function () {
      backend = await makeBackend(this);
      local = await tempDir('ops');
      bigFile = join(local.path, 'big.bin');
      await writeFile(bigFile, big);
    });

    after(async () => {
      await backend?.cleanUp();
      await local?.remove();
    });

    it('put streams a file and stdin through the writer and commits them', async () => {
      const fromFile = await ok(['put', '/cli/data/big.bin', bigFile]);
      assert.match(fromFile.stdout, /\/cli\/data\/big\.bin: 6291456 bytes/);
      const fromStdin = await ok(['put', '/cli/data/note.txt', '--json'], 'hello from stdin\n');
      assert.deepEqual(JSON.parse(fromStdin.stdout), { path: '/cli/data/note.txt', size: 17 });
      assert.equal(sha256(await backend.driver.getContent('/cli/data/big.bin')), sha256(big));
      assert.equal((await backend.driver.getContent('/cli/data/note.txt')).toString(), 'hello from stdin\n');
    });

    it('stat prints size and type, as text and as JSON', async () => {
      const text = await ok(['stat', '/cli/data/big.bin']);
      assert.match(text.stdout, /^type\s+file$/m);
      assert.match(text.stdout, /^size\s+6291456 /m);
      const json = JSON.parse((await ok(['stat', '/cli/data', '--json'])).stdout) as { path: string; isDir: boolean };
      assert.deepEqual([json.path, json.isDir], ['/cli/data', true]);
    });

    it('cat writes the content to stdout, from --offset on', async () => {
      assert.equal((await ok(['cat', '/cli/data/note.txt'])).stdout, 'hello from stdin\n');
      const all = await ok(['cat', '/cli/data/big.bin']);
      assert.equal(sha256(all.stdoutBytes), sha256(big));
      const offset = 5 * 1024 * 1024 + 3; // inside the second S3 part
      const tail = await ok(['cat', '/cli/data/big.bin', '--offset', String(offset)]);
      assert.equal(sha256(tail.stdoutBytes), sha256(big.subarray(offset)));
    });

    it('ls lists children with sizes; du sums them; walk visits everything in order', async () => {
      const ls = await ok(['ls', '/cli/data']);
      assert.match(ls.stdout, /^file\s+6291456\s+\S+ \S+\s+\/cli\/data\/big\.bin$/m);
      assert.match(ls.stdout, /^file\s+17\s+\S+ \S+\s+\/cli\/data\/note\.txt$/m);
      const lsJson = JSON.parse((await ok(['ls', '/cli', '--json'])).stdout) as Array<{ path: string; isDir: boolean }>;
      assert.deepEqual(
        lsJson.map((e) => [e.path, e.isDir]),
        [['/cli/data', true]],
      );

      const du = JSON.parse((await ok(['du', '/cli', '--json'])).stdout) as { files: number; bytes: number; children: Array<{ path: string; bytes: number }> };
      assert.deepEqual([du.files, du.bytes], [2, big.length + 17]);
      assert.deepEqual(du.children, [{ path: '/cli/data', files: 2, bytes: big.length + 17 }]);
      assert.match((await ok(['du', '/cli'])).stdout, new RegExp(`^/cli \\(total\\)\\s+2\\s+${big.length + 17}\\s`, 'm'));

      const walk = JSON.parse((await ok(['walk', '/cli', '--json'])).stdout) as Array<{ path: string; size: number }>;
      assert.deepEqual(
        walk.map((e) => e.path),
        ['/cli/data', '/cli/data/big.bin', '/cli/data/note.txt'],
      );
      const walkText = await ok(['walk', '/cli', '--start-after', '/cli/data/big.bin']);
      assert.deepEqual(
        walkText.stdout
          .trim()
          .split('\n')
          .map((line) => line.split('\t')[3]),
        ['/cli/data/note.txt'],
      );
    });

    it('mv moves a file; a missing path is a typed error with code, driver and path, and no stack', async () => {
      await ok(['mv', '/cli/data/note.txt', '/cli/moved/note.txt']);
      assert.equal((await backend.driver.getContent('/cli/moved/note.txt')).toString(), 'hello from stdin\n');
      const missing = await stowage(['stat', '/cli/data/note.txt']);
      assert.equal(missing.code, 1, describeRun(missing));
      assert.match(missing.stderr, new RegExp(`^stowage: ERR_PATH_NOT_FOUND \\(driver ${backend.driver.name}, path /cli/data/note\\.txt\\)`, 'm'));
      assertNoStack(missing);
      const debug = await stowage(['stat', '/cli/data/note.txt', '--debug']);
      assert.match(debug.stderr, /^\s+at /m, 'with --debug the stack is printed');
    });

    it('bad input is refused with a typed error before any I/O', async () => {
      const traversal = await stowage(['put', '/cli/../escape', bigFile]);
      assert.equal(traversal.code, 1, describeRun(traversal));
      assert.match(traversal.stderr, /ERR_INVALID_PATH/);
      await assert.rejects(backend.driver.stat('/escape'), isPathNotFound);
      const offset = await stowage(['cat', '/cli/data/big.bin', '--offset', '-4']);
      assert.equal(offset.code, 2, describeRun(offset));
      const age = await stowage(['purge-uploads', '--older-than', 'soon']);
      assert.equal(age.code, 2, describeRun(age));
      assert.match(age.stderr, /not an age/);
    });

    it('purge-uploads removes unfinished uploads older than --older-than, and only those', async () => {
      const writer = await backend.driver.writer('/cli/staged/upload', false);
      await writer.write(randomBytes(1000));
      await writer.close();
      const keep = JSON.parse((await ok(['purge-uploads', '--older-than', '7d', '--json'])).stdout) as { removed: number };
      assert.equal(keep.removed, 0);
      assert.equal((await backend.driver.writer('/cli/staged/upload', true).then(async (w) => [w.size, await w.close()]))[0], 1000, 'still resumable');
      // Backends record upload times in whole seconds: let the upload age past a one-second cutoff.
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const purged = await ok(['purge-uploads', '--older-than', '1s']);
      assert.match(purged.stdout, /^removed [1-9]\d* unfinished upload/m);
      await assert.rejects(backend.driver.writer('/cli/staged/upload', true), isPathNotFound);
    });

    it('rm deletes a directory and everything below it', async () => {
      await ok(['rm', '/cli']);
      await assert.rejects(backend.driver.stat('/cli'), isPathNotFound);
      const ls = await ok(['ls', '/']);
      assert.doesNotMatch(ls.stdout, /\/cli\b/);
    });
  });
}

describeOperations('filesystem (--driver, --param)', () => filesystemBackend());
describeOperations('s3 on Swift s3api (--config config.yml)', (context) => s3Backend(context, 'cli-ops'));
