/** GET /v2/<name>/tags/list, GET /v2/_catalog and GET /v2/<name>/referrers/<digest>. */
import { listRepositories } from '../catalog';
import { pageSize, paginate, sendJson } from '../http';
import { MediaType } from '../manifest';
import { checkDigest } from '../names';
import type { RequestContext } from '../context';

/** The catalog's page size when the client gives none, and its largest (as distribution's maxentries). */
const CATALOG_PAGE = 1000;

function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

export async function listTags(ctx: RequestContext): Promise<void> {
  const n = pageSize(ctx.query);
  const { page, more } = paginate(await ctx.parts.manifests.tags(ctx.name), n, ctx.query.get('last'));
  const headers = more && n !== undefined ? { Link: nextLink(`/v2/${ctx.name}/tags/list`, n, page[page.length - 1]!) } : {};
  sendJson(ctx.res, 200, { name: ctx.name, tags: page }, headers);
}

export async function listCatalog(ctx: Omit<RequestContext, 'name' | 'target'>): Promise<void> {
  const n = Math.min(pageSize(ctx.query) ?? CATALOG_PAGE, CATALOG_PAGE);
  const { page, more } = paginate(await listRepositories(ctx.parts.driver), n, ctx.query.get('last'));
  const headers = more ? { Link: nextLink('/v2/_catalog', n, page[page.length - 1]!) } : {};
  sendJson(ctx.res, 200, { repositories: page }, headers);
}

export async function listReferrers(ctx: RequestContext): Promise<void> {
  const digest = checkDigest(ctx.target);
  const artifactType = ctx.query.get('artifactType');
  let manifests = await ctx.parts.manifests.referrers(ctx.name, digest);
  if (artifactType !== null) manifests = manifests.filter((descriptor) => descriptor.artifactType === artifactType);
  sendJson(
    ctx.res,
    200,
    { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests },
    { 'Content-Type': MediaType.OciIndex, ...(artifactType !== null ? { 'OCI-Filters-Applied': 'artifactType' } : {}) },
  );
}
