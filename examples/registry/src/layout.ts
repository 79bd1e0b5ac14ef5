/**
 * distribution's storage layout (registry/storage/paths.go), so that storage written by
 * docker-registry is served here and the reverse:
 *
 *   /docker/registry/v2/blobs/sha256/<hex[0:2]>/<hex>/data                      blob and manifest bytes
 *   /docker/registry/v2/repositories/<name>/_layers/sha256/<hex>/link            blob linked into a repository
 *   .../<name>/_manifests/revisions/sha256/<hex>/link                            manifest in a repository
 *   .../<name>/_manifests/tags/<tag>/current/link                                what a tag points at
 *   .../<name>/_manifests/tags/<tag>/index/sha256/<hex>/link                     every manifest the tag has had
 *   .../<name>/_uploads/<id>/data, startedat, hashstates/...                     an unfinished upload
 *
 * A link file holds the digest as text (`sha256:<hex>`).
 */
import type { Digest } from './names';

export const ROOT = '/docker/registry/v2';
export const REPOSITORIES_ROOT = `${ROOT}/repositories`;

/** Where a blob's bytes live, shared by every repository. */
export function blobDataPath(digest: Digest): string {
  return `${ROOT}/blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}/data`;
}

export function repositoryPath(name: string): string {
  return `${REPOSITORIES_ROOT}/${name}`;
}

/** The link that makes a blob part of a repository (removed by a blob DELETE). */
export function layerLinkDir(name: string, digest: Digest): string {
  return `${repositoryPath(name)}/_layers/${digest.algorithm}/${digest.hex}`;
}

export function manifestRevisionsDir(name: string): string {
  return `${repositoryPath(name)}/_manifests/revisions/sha256`;
}

export function manifestRevisionDir(name: string, digest: Digest): string {
  return `${repositoryPath(name)}/_manifests/revisions/${digest.algorithm}/${digest.hex}`;
}

export function tagsDir(name: string): string {
  return `${repositoryPath(name)}/_manifests/tags`;
}

export function tagDir(name: string, tag: string): string {
  return `${tagsDir(name)}/${tag}`;
}

export function tagCurrentLinkPath(name: string, tag: string): string {
  return `${tagDir(name, tag)}/current/link`;
}

export function tagIndexLinkPath(name: string, tag: string, digest: Digest): string {
  return `${tagDir(name, tag)}/index/${digest.algorithm}/${digest.hex}/link`;
}

export function uploadsDir(name: string): string {
  return `${repositoryPath(name)}/_uploads`;
}

export function uploadDir(name: string, id: string): string {
  return `${uploadsDir(name)}/${id}`;
}

/** The upload's Stowage writer path; committed, then moved to blobDataPath, by the closing PUT. */
export function uploadDataPath(name: string, id: string): string {
  return `${uploadDir(name, id)}/data`;
}

/** When the upload began, RFC 3339, as distribution writes it (upload purging reads it). */
export function uploadStartedAtPath(name: string, id: string): string {
  return `${uploadDir(name, id)}/startedat`;
}

/** The file name of a link. */
export const LINK = 'link';
