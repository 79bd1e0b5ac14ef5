/**
 * What a staged upload to an object store keeps in `~upload.json` (see staged-uploads.ts): shared
 * by the upload bookkeeping and the writer whose session holds the upload.
 */
import type { CompletedPart } from './multipart-store';

export interface StagedPart extends CompletedPart {
  size: number;
}

/** What `~upload.json` holds. */
export interface UploadState {
  version: 1;
  path: string;
  /** The writer session that owns the upload: the last one opened. Older writers are fenced. */
  session: string;
  partSize: number;
  uploadId?: string;
  /** Parts 1..n, all of `partSize` bytes. */
  parts: StagedPart[];
  tail?: { key: string; size: number };
  /** All bytes written so far: the parts plus the tail. */
  size: number;
  startedAt: string;
}
