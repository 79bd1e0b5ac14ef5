/**
 * OCI image layout directories (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * for registry tests: makeRandomOciImage() writes one whose layers are gzipped tar archives of random
 * bytes, and readOciImage() reads one back with a sha256 of every blob's actual bytes, so that two
 * images compare byte for byte with a single deepEqual.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** A content descriptor as in image-spec. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** What makeRandomOciImage wrote. */
export interface RandomOciImage {
  dir: string;
  tag: string;
  manifestDigest: string;
  manifest: Buffer;
  config: Descriptor;
  layers: Descriptor[];
}

/** An image read back from a layout: manifest bytes and, per referenced blob, the hash of its bytes. */
export interface OciImageContents {
  manifestDigest: string;
  manifest: Buffer;
  /** Config first, then the layers in order. */
  blobs: Array<{ digest: string; size: number; contentDigest: string; contentSize: number }>;
}

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function writeBlob(dir: string, data: Buffer): Promise<string> {
  const digest = sha256Digest(data);
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
  return digest;
}

/** A one-file POSIX ustar archive: a real image layer, so that any tool that unpacks it can. */
function tarOfOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100); // mode
  header.write('0000000\0', 108); // uid
  header.write('0000000\0', 116); // gid
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124); // size
  header.write('00000000000\0', 136); // mtime
  header.write('        ', 148); // checksum field counts as spaces while summing
  header.write('0', 156); // regular file
  header.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

/**
 * Writes an OCI image layout into `dir` holding one image tagged `tag` whose layers have
 * `layerSizes` bytes of random data each (gzip level 0 keeps them about that size and fast to make).
 */
export async function makeRandomOciImage(dir: string, layerSizes: number[], tag = 'latest'): Promise<RandomOciImage> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const [index, size] of layerSizes.entries()) {
    const tar = tarOfOneFile(`layer-${index}.bin`, randomBytes(size));
    diffIds.push(sha256Digest(tar));
    const gzipped = gzipSync(tar, { level: 0 });
    layers.push({ mediaType: OCI_LAYER_GZIP, digest: await writeBlob(dir, gzipped), size: gzipped.length });
  }
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const config: Descriptor = { mediaType: OCI_CONFIG, digest: await writeBlob(dir, configBytes), size: configBytes.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }));
  const manifestDigest = await writeBlob(dir, manifest);
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  };
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return { dir, tag, manifestDigest, manifest, config, layers };
}

/** Reads the image tagged `tag` from the layout `dir`, hashing every blob its manifest references. */
export async function readOciImage(dir: string, tag = 'latest'): Promise<OciImageContents> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const entry = index.manifests.find((descriptor) => descriptor.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`${dir}: no image tagged ${tag} in index.json`);
  const readBlob = (digest: string) => readFile(join(dir, 'blobs', ...digest.split(':')));
  const manifest = await readBlob(entry.digest);
  const parsed = JSON.parse(manifest.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
  const blobs: OciImageContents['blobs'] = [];
  for (const descriptor of [parsed.config, ...parsed.layers]) {
    const data = await readBlob(descriptor.digest);
    blobs.push({ digest: descriptor.digest, size: descriptor.size, contentDigest: sha256Digest(data), contentSize: data.length });
  }
  return { manifestDigest: entry.digest, manifest, blobs };
}
