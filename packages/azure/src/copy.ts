/**
 * Waiting for a server-side copy (Copy Blob), as distribution's move does: poll the destination's
 * copy status up to `maxRetry` times, the N-th poll after N x `delayMs`. Unlike distribution,
 * a copy that has not finished by then (or with maxRetry -1, at once) is an error, never a
 * silent success.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlockBlobClient } from '@azure/storage-blob';
import { StorageDriverError } from '@stowage/core';

type CopyStatus = 'pending' | 'success' | 'aborted' | 'failed';

export interface CopyProgress {
  status: CopyStatus | undefined;
  copyId?: string;
  /** The service's reason for a failed or aborted copy. */
  description?: string;
}

export type CopyOutcome =
  | { kind: 'success' }
  | { kind: 'failed'; reason: string }
  /** Still pending after every poll; the caller aborts the copy. */
  | { kind: 'unfinished'; polls: number; copyId?: string };

interface CopyPolling {
  maxRetry: number;
  delayMs: number;
}

export async function waitForCopy(
  started: CopyProgress,
  poll: () => Promise<CopyProgress>,
  settings: CopyPolling,
  sleep: (ms: number) => Promise<void>,
): Promise<CopyOutcome> {
  let progress = started;
  let polls = 0;
  for (;;) {
    if (progress.status === 'success') return { kind: 'success' };
    if (progress.status === 'failed' || progress.status === 'aborted') {
      return { kind: 'failed', reason: `copy ${progress.status}${progress.description ? `: ${progress.description}` : ''}` };
    }
    if (polls >= Math.max(0, settings.maxRetry)) return { kind: 'unfinished', polls, copyId: progress.copyId ?? started.copyId };
    polls++;
    await sleep(settings.delayMs * polls);
    const next = await poll();
    // Another copy replaced ours at the destination: ours no longer exists to finish.
    if (started.copyId !== undefined && next.copyId !== undefined && next.copyId !== started.copyId) {
      return { kind: 'failed', reason: `another copy (${next.copyId}) replaced this one (${started.copyId}) at the destination` };
    }
    progress = { ...next, copyId: next.copyId ?? started.copyId };
  }
}

/** What copyBlob needs of the driver. */
export interface CopyContext {
  driverName: string;
  polling: CopyPolling;
}

/**
 * Server-side copy of `source` (as it was at `etag`) to `dest`, with distribution's polling. An
 * unfinished copy is aborted, and a copy that did not succeed leaves no destination blob behind:
 * an empty one must not look like the file. Throws StorageDriverError saying why.
 */
export async function copyBlob(
  context: CopyContext,
  source: BlockBlobClient,
  dest: BlockBlobClient,
  etag: string | undefined,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const poller = await dest.beginCopyFromURL(source.url, { sourceConditions: { ifMatch: etag }, abortSignal: signal });
  // The poller's state carries the copy id (BlobBeginCopyFromUrlPollState), its public type does not.
  const state = poller.getOperationState() as { isCompleted?: boolean; copyId?: string };
  const started: CopyProgress = { status: state.isCompleted ? 'success' : 'pending', copyId: state.copyId };
  const outcome = await waitForCopy(
    started,
    async () => {
      const props = await dest.getProperties({ abortSignal: signal });
      return { status: props.copyStatus, copyId: props.copyId, description: props.copyStatusDescription };
    },
    context.polling,
    (ms) => sleep(ms, undefined, { signal }),
  );
  if (outcome.kind === 'success') return;
  let reason: string;
  if (outcome.kind === 'unfinished') {
    reason = `the server-side copy did not finish after ${outcome.polls} status polls (copy_status_poll_max_retry ${context.polling.maxRetry}); it was aborted`;
    if (outcome.copyId) await dest.abortCopyFromURL(outcome.copyId).catch(() => undefined);
  } else {
    reason = outcome.reason;
  }
  await dest.delete().catch(() => undefined);
  throw new StorageDriverError(context.driverName, new Error(reason), { operation: 'move', path: what });
}
