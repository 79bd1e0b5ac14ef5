/**
 * POST /v2/<name>/blobs/uploads/ (a session, a monolithic upload with ?digest=, or a cross-repository
 * mount with ?mount=&from=), and GET/PATCH/PUT/DELETE /v2/<name>/blobs/uploads/<id>.
 */
import type { IncomingMessage } from 'node:http';
import { ClientGoneError, RegistryError, uploadUnknown } from '../errors';
import { hasBody, send } from '../http';
import { checkDigest, checkName, type Digest, isValidUploadId } from '../names';
import { type ChunkRange, rangeEnd } from '../uploads';
import type { RequestContext } from '../context';

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

function sessionHeaders(name: string, id: string, size: number): Record<string, string> {
  return { Location: uploadLocation(name, id), Range: `0-${rangeEnd(size)}`, 'Docker-Upload-UUID': id };
}

function sendBlobCreated(ctx: RequestContext, digest: Digest): void {
  send(ctx.res, 201, { Location: `/v2/${ctx.name}/blobs/${digest.value}`, 'Docker-Content-Digest': digest.value });
}

/** `Content-Range: <start>-<end>` of a chunk, checked against its Content-Length. */
function chunkRange(req: IncomingMessage): ChunkRange | undefined {
  const header = req.headers['content-range'];
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());
  if (!match) throw new RegistryError(400, 'BLOB_UPLOAD_INVALID', 'Content-Range must be <start>-<end>', { contentRange: header.slice(0, 100) });
  const range = { start: Number(match[1]), end: Number(match[2]) };
  if (range.end < range.start) throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', 'Content-Range ends before it starts', { contentRange: header });
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) !== range.end - range.start + 1) {
    throw new RegistryError(400, 'SIZE_INVALID', 'Content-Length does not match Content-Range', { contentRange: header, contentLength: length });
  }
  return range;
}

function uploadId(ctx: RequestContext): string {
  if (!isValidUploadId(ctx.target)) throw uploadUnknown();
  return ctx.target;
}

export async function startUpload(ctx: RequestContext): Promise<void> {
  const { query, name, parts } = ctx;
  const mount = query.get('mount');
  if (mount !== null) {
    const digest = checkDigest(mount);
    const from = query.get('from');
    if (from !== null && (await parts.blobs.sizeIn(checkName(from), digest)) !== undefined) {
      await parts.blobs.link(name, digest);
      return sendBlobCreated(ctx, digest);
    }
    // Not mountable: fall back to a new session, as the spec allows (202).
  } else if (query.get('digest') !== null) {
    const digest = checkDigest(query.get('digest'));
    const id = await parts.uploads.start(name);
    try {
      await parts.uploads.complete(name, id, digest, ctx.req);
    } catch (err) {
      if (err instanceof ClientGoneError) await parts.uploads.cancel(name, id).catch(() => undefined); // nobody can resume it
      throw err;
    }
    return sendBlobCreated(ctx, digest);
  }
  const id = await parts.uploads.start(name);
  send(ctx.res, 202, sessionHeaders(name, id, 0));
}

export async function uploadStatus(ctx: RequestContext): Promise<void> {
  const id = uploadId(ctx);
  const size = await ctx.parts.uploads.status(ctx.name, id);
  send(ctx.res, 204, sessionHeaders(ctx.name, id, size));
}

export async function patchUpload(ctx: RequestContext): Promise<void> {
  const id = uploadId(ctx);
  const range = chunkRange(ctx.req);
  let size: number;
  try {
    size = await ctx.parts.uploads.append(ctx.name, id, ctx.req, range);
  } catch (err) {
    // A 416 also says where the session is, so the client can continue from there.
    if (err instanceof RegistryError && err.status === 416) Object.assign(err.headers, { Location: uploadLocation(ctx.name, id), 'Docker-Upload-UUID': id });
    throw err;
  }
  send(ctx.res, 202, sessionHeaders(ctx.name, id, size));
}

export async function finishUpload(ctx: RequestContext): Promise<void> {
  const id = uploadId(ctx);
  const digest = checkDigest(ctx.query.get('digest'));
  const range = chunkRange(ctx.req);
  await ctx.parts.uploads.complete(ctx.name, id, digest, hasBody(ctx.req) ? ctx.req : undefined, range);
  sendBlobCreated(ctx, digest);
}

export async function cancelUpload(ctx: RequestContext): Promise<void> {
  await ctx.parts.uploads.cancel(ctx.name, uploadId(ctx));
  send(ctx.res, 204);
}
