/**
 * skopeo (Debian's package, installed on first use like docker-registry) as the test client that
 * pushes to and pulls from a registry over HTTP. Copies run with --insecure-policy (no signature
 * policy needed), TLS verification off (the test registries speak plain HTTP on 127.0.0.1) and
 * --preserve-digests, so that skopeo fails instead of silently recompressing or converting anything:
 * what arrives is byte for byte what was sent.
 */
import { ensureDebianPackage, runCommand } from './apt';

const SKOPEO_BINARY = '/usr/bin/skopeo';

/** Installs Debian's skopeo if it is missing (as root), or throws ServiceUnavailableError. */
export function ensureSkopeo(): Promise<void> {
  return ensureDebianPackage('skopeo', SKOPEO_BINARY);
}

/** `oci:DIR:TAG`, an OCI image layout directory as a skopeo reference. */
function ociReference(dir: string, tag: string): string {
  return `oci:${dir}:${tag}`;
}

/** `docker://HOST/REPOSITORY:TAG` (or `@sha256:...` when `reference` is a digest). */
export function dockerReference(host: string, repository: string, reference: string): string {
  return `docker://${host}/${repository}${reference.includes(':') ? '@' : ':'}${reference}`;
}

/** Credentials for one side of a copy, as `user:password`. */
export interface SkopeoCopyOptions {
  sourceCredentials?: string;
  destinationCredentials?: string;
  /** Extra arguments placed before the two references, e.g. ['--format', 'v2s2'] or ['--all']. */
  extraArgs?: string[];
}

/** Thrown when skopeo exits non-zero; the message has its output (credentials are never in it). */
class SkopeoError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`skopeo ${args.join(' ')} exited ${code}:\n${output.trim().slice(-4000)}`);
    this.name = 'SkopeoError';
  }
}

/** `skopeo copy SOURCE DESTINATION` between any two references (oci:, docker://, dir:). */
export async function skopeoCopy(source: string, destination: string, options: SkopeoCopyOptions = {}): Promise<void> {
  await ensureSkopeo();
  const shown = [
    '--insecure-policy',
    'copy',
    '--quiet',
    '--preserve-digests',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    ...(options.extraArgs ?? []),
  ];
  const credentials: string[] = [];
  if (source.startsWith('docker://')) credentials.push(...(options.sourceCredentials ? ['--src-creds', options.sourceCredentials] : ['--src-no-creds']));
  if (destination.startsWith('docker://'))
    credentials.push(...(options.destinationCredentials ? ['--dest-creds', options.destinationCredentials] : ['--dest-no-creds']));
  const args = [...shown, ...credentials, source, destination];
  const { code, output } = await runCommand(SKOPEO_BINARY, args);
  if (code !== 0) throw new SkopeoError([...shown, source, destination], code, output);
}

/** Pushes the image tagged `tag` in the OCI layout `dir` to `host`/`repository`:`tag`. */
export function pushImage(dir: string, tag: string, host: string, repository: string, options: SkopeoCopyOptions = {}): Promise<void> {
  return skopeoCopy(ociReference(dir, tag), dockerReference(host, repository, tag), options);
}

/** Pulls `host`/`repository`:`reference` into the OCI layout `dir` (created if missing) under `tag`. */
export function pullImage(host: string, repository: string, reference: string, dir: string, tag: string, options: SkopeoCopyOptions = {}): Promise<void> {
  return skopeoCopy(dockerReference(host, repository, reference), ociReference(dir, tag), options);
}
