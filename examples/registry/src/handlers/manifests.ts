/** GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference> */
import { deleteDisabled, RegistryError } from '../errors';
import { API_VERSION_HEADER, readBody, send } from '../http';
import { MAX_MANIFEST_BYTES } from '../manifest';
import { checkReference } from '../names';
import type { RequestContext } from '../context';

function reference(ctx: RequestContext) {
  return checkReference(ctx.target);
}

export async function getManifest(ctx: RequestContext): Promise<void> {
  const { digest, bytes, mediaType } = await ctx.parts.manifests.get(ctx.name, reference(ctx));
  const headers = { 'Content-Type': mediaType, 'Docker-Content-Digest': digest.value, ETag: `"${digest.value}"` };
  if (ctx.req.method === 'HEAD') {
    ctx.res.writeHead(200, { ...API_VERSION_HEADER, ...headers, 'Content-Length': bytes.length });
    ctx.res.end();
    return;
  }
  send(ctx.res, 200, headers, bytes);
}

export async function putManifest(ctx: RequestContext): Promise<void> {
  const ref = reference(ctx);
  const body = await readBody(
    ctx.req,
    MAX_MANIFEST_BYTES,
    () => new RegistryError(413, 'SIZE_INVALID', `manifests are limited to ${MAX_MANIFEST_BYTES} bytes`),
  );
  const { digest, info } = await ctx.parts.manifests.put(ctx.name, ref, body, ctx.req.headers['content-type']);
  send(ctx.res, 201, {
    Location: `/v2/${ctx.name}/manifests/${digest.value}`,
    'Docker-Content-Digest': digest.value,
    ...(info.subject ? { 'OCI-Subject': info.subject.digest } : {}),
  });
}

export async function deleteManifest(ctx: RequestContext): Promise<void> {
  if (!ctx.parts.config.storage.deleteEnabled) throw deleteDisabled();
  await ctx.parts.manifests.delete(ctx.name, reference(ctx));
  send(ctx.res, 202);
}
