/**
 * `stowage verify`: checks a registry's storage (see verify/registry-check.ts), with a progress
 * bar over the bytes hashed on a terminal, then a summary and the problems; exit 1 when any.
 */
import { formatBytes } from '@stowage/conformance/bench';
import { ReportedFailure } from '../errors';
import type { CommandContext } from '../program';
import { byteProgress, type ByteProgress } from '../progress';
import { verifyRegistry } from '../verify/registry-check';

export async function verify(ctx: CommandContext): Promise<void> {
  const { driver, output } = ctx;
  const options = ctx.opts<{ root: string; concurrency: number }>();
  let progress: ByteProgress | undefined;
  const summary = await verifyRegistry(driver, options.root, options.concurrency, {
    onPhase: (text) => {
      progress?.stop();
      progress = undefined;
      output.note(`verify: ${text}`);
    },
    onBlobsFound: (count, bytes) => {
      output.note(`verify: hashing ${count} blobs (${formatBytes(bytes)})`);
      progress = byteProgress(output, 'hashing', bytes);
    },
    onBytes: (bytes) => progress?.advance(bytes),
  });
  progress?.stop();

  if (output.json) {
    output.jsonValue({ ok: summary.problems.length === 0, ...summary });
  } else {
    output.table(
      ['checked', 'count'],
      [
        ['blobs', `${summary.blobs} (${formatBytes(summary.blobBytes)})`],
        ['repositories', String(summary.repositories)],
        ['links', String(summary.links)],
        ['manifests', String(summary.manifests)],
        ['problems', String(summary.problems.length)],
      ],
    );
    if (summary.problems.length > 0) {
      output.line();
      output.line('Problems:');
      const width = Math.max(...summary.problems.map((p) => p.kind.length));
      for (const problem of summary.problems) {
        output.line(`  ${problem.kind.padEnd(width)}  ${problem.path}`);
        output.line(`  ${' '.repeat(width)}  ${problem.detail}`);
      }
    }
    output.line();
    output.line(
      summary.problems.length === 0
        ? `verify: ${summary.root} is consistent`
        : `verify: ${summary.problems.length} problem${summary.problems.length === 1 ? '' : 's'} in ${summary.root}`,
    );
  }
  if (summary.problems.length > 0) throw new ReportedFailure();
}
