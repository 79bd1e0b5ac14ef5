/**
 * Parsing and checking manifests before anything is stored: the four media types distribution
 * serves (OCI image manifest and index, Docker schema 2 manifest and manifest list), their
 * descriptors, and what they reference. Docker schema 1 is not accepted.
 */
import { manifestInvalid } from './errors';
import { type Digest, parseDigest } from './names';

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaType.OciManifest, MediaType.DockerManifest]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.OciIndex, MediaType.DockerManifestList]);

/** The spec's floor for manifest uploads, and this registry's cap. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A descriptor as image-spec defines it (the fields this registry reads). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

/** What the registry needs to know about a manifest. */
export interface ManifestInfo {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs that must exist in the repository: the config and every non-foreign layer. */
  blobs: Digest[];
  /** Manifests an index lists, which must exist in the repository. */
  manifests: Digest[];
  subject?: Descriptor;
  artifactType?: string;
  configMediaType?: string;
  annotations?: Record<string, string>;
}

/** A Content-Type without parameters, lower case. */
function bareMediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkDescriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) throw manifestInvalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw manifestInvalid(`${where}.mediaType must be a string`);
  if (typeof digest !== 'string' || !parseDigest(digest)) throw manifestInvalid(`${where}.digest must be a sha256 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw manifestInvalid(`${where}.size must be a non-negative integer`);
  if (value.annotations !== undefined && !isStringMap(value.annotations)) throw manifestInvalid(`${where}.annotations must map strings to strings`);
  if (value.artifactType !== undefined && typeof value.artifactType !== 'string') throw manifestInvalid(`${where}.artifactType must be a string`);
  return value as unknown as Descriptor;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((entry) => typeof entry === 'string');
}

/** Foreign layers (Windows base layers) live elsewhere and need not be in the registry. */
function isForeign(descriptor: Descriptor): boolean {
  return descriptor.mediaType.includes('foreign') || (Array.isArray(descriptor.urls) && descriptor.urls.length > 0);
}

function descriptors(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw manifestInvalid(`${where} must be an array`);
  return value.map((entry, index) => checkDescriptor(entry, `${where}[${index}]`));
}

/**
 * Parses a manifest and checks its shape; MANIFEST_INVALID says what is wrong. `contentType` is
 * the request's Content-Type (when storing) or undefined (when reading stored bytes).
 */
export function parseManifest(bytes: Buffer, contentType?: string): ManifestInfo {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw manifestInvalid('the manifest is not JSON');
  }
  if (!isRecord(json)) throw manifestInvalid('the manifest must be a JSON object');
  if (json.schemaVersion !== 2) throw manifestInvalid('only schemaVersion 2 manifests are supported');
  const declared = json.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw manifestInvalid('mediaType must be a string');
  const requestType = bareMediaType(contentType);
  if (declared !== undefined && requestType !== undefined && requestType !== declared) {
    throw manifestInvalid(`Content-Type ${requestType} differs from the manifest's mediaType ${declared}`);
  }
  const mediaType =
    declared ??
    (requestType && (IMAGE_TYPES.has(requestType) || INDEX_TYPES.has(requestType)) ? requestType : undefined) ??
    (json.manifests !== undefined ? MediaType.OciIndex : MediaType.OciManifest);
  const subject = json.subject === undefined ? undefined : checkDescriptor(json.subject, 'subject');
  if (json.artifactType !== undefined && typeof json.artifactType !== 'string') throw manifestInvalid('artifactType must be a string');
  if (json.annotations !== undefined && !isStringMap(json.annotations)) throw manifestInvalid('annotations must map strings to strings');
  const common = {
    mediaType,
    ...(subject ? { subject } : {}),
    ...(typeof json.artifactType === 'string' ? { artifactType: json.artifactType } : {}),
    ...(json.annotations !== undefined ? { annotations: json.annotations } : {}),
  };
  if (IMAGE_TYPES.has(mediaType)) {
    const config = checkDescriptor(json.config, 'config');
    const layers = json.layers === undefined && mediaType === MediaType.OciManifest ? [] : descriptors(json.layers, 'layers');
    const blobs = [config, ...layers.filter((layer) => !isForeign(layer))].map((descriptor) => parseDigest(descriptor.digest)!);
    return { ...common, kind: 'image', blobs, manifests: [], configMediaType: config.mediaType };
  }
  if (INDEX_TYPES.has(mediaType)) {
    const manifests = descriptors(json.manifests, 'manifests').map((descriptor) => parseDigest(descriptor.digest)!);
    return { ...common, kind: 'index', blobs: [], manifests };
  }
  throw manifestInvalid(`unsupported manifest media type ${mediaType}`);
}

/** Docker's schema 1 media type, for manifests docker-registry stored long ago. */
const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/**
 * The Content-Type to serve stored manifest bytes with. Manifests this registry would refuse today
 * (schema 1, written by an older docker-registry) are still served, typed by their own fields.
 */
export function storedMediaType(bytes: Buffer): string {
  try {
    return parseManifest(bytes).mediaType;
  } catch {
    try {
      const json = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; schemaVersion?: unknown };
      if (typeof json.mediaType === 'string') return json.mediaType;
      if (json.schemaVersion === 1) return DOCKER_SCHEMA1_SIGNED;
    } catch {
      // not JSON at all
    }
    return 'application/octet-stream';
  }
}
