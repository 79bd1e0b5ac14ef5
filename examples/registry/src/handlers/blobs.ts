/** GET/HEAD/DELETE /v2/<name>/blobs/<digest> */
import { pipeline } from 'node:stream/promises';
import { deleteDisabled, RegistryError } from '../errors';
import { API_VERSION_HEADER, firstBytes, parseByteRange, send } from '../http';
import { checkDigest } from '../names';
import type { RequestContext } from '../context';

export async function getBlob(ctx: RequestContext): Promise<void> {
  const { req, res, name, parts } = ctx;
  const digest = checkDigest(ctx.target);
  const size = await parts.blobs.stat(name, digest);
  const common = { 'Docker-Content-Digest': digest.value, ETag: `"${digest.value}"`, 'Accept-Ranges': 'bytes' };
  if (req.method === 'GET' && !parts.config.storage.redirectDisabled) {
    const url = await parts.blobs.redirectURL(digest, 'GET');
    if (url) return send(res, 307, { ...common, Location: url });
  }
  const range = req.method === 'GET' ? parseByteRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    throw new RegistryError(416, 'BLOB_UNKNOWN', 'the requested range is not satisfiable', { size }, { 'Content-Range': `bytes */${size}` });
  }
  const start = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : size;
  const headers = {
    ...common,
    'Content-Type': 'application/octet-stream',
    'Content-Length': length,
    'Cache-Control': 'max-age=31536000',
    ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${size}` } : {}),
  };
  if (req.method === 'HEAD') {
    res.writeHead(200, { ...API_VERSION_HEADER, ...headers });
    res.end();
    return;
  }
  const stream = await parts.blobs.open(digest, start);
  res.writeHead(range ? 206 : 200, { ...API_VERSION_HEADER, ...headers });
  try {
    // The whole blob is the reader's whole stream: piped stream to stream, without an async
    // iteration per chunk (cloud readers yield socket-sized chunks, thousands per layer).
    if (range) await pipeline(firstBytes(stream, length), res);
    else await pipeline(stream, res);
  } finally {
    stream.destroy();
  }
}

export async function deleteBlob(ctx: RequestContext): Promise<void> {
  if (!ctx.parts.config.storage.deleteEnabled) throw deleteDisabled();
  await ctx.parts.blobs.unlink(ctx.name, checkDigest(ctx.target));
  send(ctx.res, 202);
}
