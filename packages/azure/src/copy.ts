/**
 * Waiting for a server-side copy (Copy Blob), as distribution's move does: poll the destination's
 * copy status up to `maxRetry` times, the N-th poll after N x `delayMs`. Unlike distribution,
 * a copy that has not finished by then (or with maxRetry -1, at once) is an error, never a
 * silent success.
 */

export type CopyStatus = 'pending' | 'success' | 'aborted' | 'failed';

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

export interface CopyPolling {
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
