/**
 * Which handler answers a request. Repository names may contain slashes, so each route is matched
 * from the end of the path; the name is then checked against the spec's pattern (NAME_INVALID)
 * before any handler, and so before any storage call.
 */
import { RegistryError } from './errors';
import { deleteBlob, getBlob } from './handlers/blobs';
import { listReferrers, listTags } from './handlers/listing';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './handlers/uploads';
import { checkName } from './names';
import type { RequestContext } from './context';

export type Handler = (ctx: RequestContext) => Promise<void>;

interface Route {
  /** Group 1 is the repository name, group 2 (when present) the digest, reference or upload id. */
  pattern: RegExp;
  methods: Readonly<Record<string, Handler>>;
}

const ROUTES: readonly Route[] = [
  { pattern: /^\/v2\/(.+)\/blobs\/uploads\/?()$/, methods: { POST: startUpload } },
  { pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, methods: { GET: uploadStatus, PATCH: patchUpload, PUT: finishUpload, DELETE: cancelUpload } },
  { pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/, methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob } },
  { pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/, methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest } },
  { pattern: /^\/v2\/(.+)\/tags\/list()$/, methods: { GET: listTags } },
  { pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: { GET: listReferrers } },
];

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // malformed escapes fail the digest or reference check instead
  }
}

/** The handler and the route's name and target for a repository-scoped path, or undefined when no route matches. */
export function route(method: string, path: string): { handler: Handler; name: string; target: string } | undefined {
  for (const { pattern, methods } of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const name = checkName(match[1]!);
    const handler = methods[method];
    if (!handler) {
      throw new RegistryError(405, 'UNSUPPORTED', `${method} is not supported here`, undefined, { Allow: Object.keys(methods).join(', ') });
    }
    return { handler, name, target: decode(match[2] ?? '') };
  }
  return undefined;
}
