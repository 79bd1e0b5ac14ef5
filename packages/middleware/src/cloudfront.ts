/**
 * distribution's `cloudfront` middleware: redirectURL answers a CloudFront URL, `<baseurl><path>`
 * signed with a CloudFront key pair (canned policy, valid for `duration`), so clients fetch blobs
 * through the CDN instead of from the bucket. With `ipfilteredby: aws` (or `awsregion`), clients
 * inside AWS (or inside the listed regions) get the wrapped driver's own URL instead, as fetching
 * from S3 in-region costs nothing: the client's address comes as `clientIP` in the
 * redirectURL options (see {@link CloudFrontRedirectOptions}); without it a client counts as outside.
 *
 * The URL is `baseurl` + the storage path: an S3 driver's `rootdirectory` belongs in the
 * CloudFront origin's path (or in `baseurl`).
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { createPrivateKey } from 'node:crypto';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { DriverDecorator, InvalidParameterError, assertValidPath, type RedirectOptions, type StorageDriver } from '@stowage/core';
import { durationMs, readOptions, stringList } from './options';

/** redirectURL options with the address of the client the URL is for, for `ipfilteredby`. */
export interface CloudFrontRedirectOptions extends RedirectOptions {
  /** The client's IP address (IPv4 or IPv6), e.g. the registry request's remote address. */
  clientIP?: string;
}

/** Options of {@link CloudFrontMiddleware}. */
export interface CloudFrontOptions {
  /** The CloudFront distribution's URL, e.g. `https://d111111abcdef8.cloudfront.net/`. */
  baseURL: string;
  /** The PEM private key of the key pair (the file's content; config.yml's `privatekey` names the file). */
  privateKey: string;
  /** The key pair's ID (a public key ID of a key group, or a legacy key pair ID). */
  keyPairId: string;
  /** How long signed URLs stay valid, in ms (default 20 minutes). */
  durationMs?: number;
  /** Which clients get the wrapped driver's URL instead: none (default), any address in AWS, or in `awsRegions`. */
  ipFilteredBy?: 'none' | 'aws' | 'awsregion';
  /** The regions for `ipFilteredBy: 'awsregion'`, e.g. `['us-east-1', 'us-west-2']`. */
  awsRegions?: readonly string[];
  /** How often AWS's address list is fetched again, in ms (default 12 hours). */
  updateFrequencyMs?: number;
  /** Where AWS's address list is (default https://ip-ranges.amazonaws.com/ip-ranges.json). */
  ipRangesURL?: string;
}

const NAME = 'cloudfront';
const DEFAULT_IP_RANGES_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json';

interface IpRanges {
  prefixes?: Array<{ ip_prefix?: unknown; region?: unknown }>;
  ipv6_prefixes?: Array<{ ipv6_prefix?: unknown; region?: unknown }>;
}

/** See the module comment. */
export class CloudFrontMiddleware extends DriverDecorator {
  private readonly base: string;
  private readonly privateKey: string;
  private readonly keyPairId: string;
  private readonly durationMs: number;
  private readonly ipFilteredBy: 'none' | 'aws' | 'awsregion';
  private readonly regions: ReadonlySet<string>;
  private readonly updateFrequencyMs: number;
  private readonly ipRangesURL: string;
  private awsAddresses: BlockList | undefined;
  private firstLoad: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Why the last fetch of AWS's address list failed, if it did (clients then count as outside AWS). */
  lastUpdateError: unknown;

  constructor(inner: StorageDriver, options: CloudFrontOptions) {
    super(inner);
    if (options === null || typeof options !== 'object') throw new InvalidParameterError(NAME, 'options', 'must be an object');
    this.base = checkURL('baseURL', options.baseURL).href.replace(/\/+$/, '');
    if (typeof options.keyPairId !== 'string' || options.keyPairId === '') throw new InvalidParameterError(NAME, 'keyPairId', 'is required');
    this.keyPairId = options.keyPairId;
    try {
      createPrivateKey(options.privateKey);
    } catch {
      // Never the key itself in the message.
      throw new InvalidParameterError(NAME, 'privateKey', 'is not a PEM private key');
    }
    this.privateKey = options.privateKey;
    this.durationMs = positive('durationMs', options.durationMs, 20 * 60_000);
    this.ipFilteredBy = options.ipFilteredBy ?? 'none';
    if (!['none', 'aws', 'awsregion'].includes(this.ipFilteredBy))
      throw new InvalidParameterError(NAME, 'ipFilteredBy', `must be none, aws or awsregion, got ${JSON.stringify(options.ipFilteredBy)}`);
    this.regions = new Set((options.awsRegions ?? []).map((region) => region.toLowerCase()));
    if (this.ipFilteredBy === 'awsregion' && this.regions.size === 0)
      throw new InvalidParameterError(NAME, 'awsRegions', 'is required with ipFilteredBy awsregion');
    this.updateFrequencyMs = positive('updateFrequencyMs', options.updateFrequencyMs, 12 * 3600_000);
    this.ipRangesURL = checkURL('ipRangesURL', options.ipRangesURL ?? DEFAULT_IP_RANGES_URL).href;
    if (this.ipFilteredBy !== 'none') this.firstLoad = this.update();
  }

  /** Signed URLs are fetchable, whatever the wrapped driver can do. */
  override get supports() {
    return { ...this.inner.supports, redirect: true };
  }

  override async redirectURL(path: string, opts: CloudFrontRedirectOptions = {}): Promise<string | null> {
    assertValidPath(this.name, path, { operation: 'redirectURL' });
    if (this.ipFilteredBy !== 'none' && opts.clientIP !== undefined) {
      await this.firstLoad;
      if (this.inAWS(opts.clientIP)) return this.inner.redirectURL(path, opts);
    }
    const expiresMs = opts.expiresIn !== undefined ? opts.expiresIn * 1000 : this.durationMs;
    return getSignedUrl({ url: `${this.base}${path}`, keyPairId: this.keyPairId, privateKey: this.privateKey, dateLessThan: new Date(Date.now() + expiresMs) });
  }

  /** Stops fetching AWS's address list again (it is fetched on a timer that does not keep the process alive). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private inAWS(address: string): boolean {
    const family = isIP(address);
    if (!this.awsAddresses || family === 0) return false;
    return this.awsAddresses.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Fetches AWS's address list (keeping the last one on failure) and schedules the next fetch. */
  private async update(): Promise<void> {
    try {
      const response = await fetch(this.ipRangesURL, { signal: AbortSignal.timeout(30_000) });
      if (!response.ok) throw new Error(`GET ${this.ipRangesURL}: HTTP ${response.status}`);
      this.awsAddresses = this.blockList((await response.json()) as IpRanges);
      this.lastUpdateError = undefined;
    } catch (err) {
      this.lastUpdateError = err;
    }
    if (this.closed) return;
    this.timer = setTimeout(() => void this.update(), this.updateFrequencyMs);
    this.timer.unref();
  }

  private blockList(ranges: IpRanges): BlockList {
    const list = new BlockList();
    const wanted = (region: unknown) => this.ipFilteredBy === 'aws' || (typeof region === 'string' && this.regions.has(region.toLowerCase()));
    for (const entry of ranges.prefixes ?? []) if (typeof entry.ip_prefix === 'string' && wanted(entry.region)) addSubnet(list, entry.ip_prefix, 'ipv4');
    for (const entry of ranges.ipv6_prefixes ?? [])
      if (typeof entry.ipv6_prefix === 'string' && wanted(entry.region)) addSubnet(list, entry.ipv6_prefix, 'ipv6');
    return list;
  }
}

function addSubnet(list: BlockList, cidr: string, type: 'ipv4' | 'ipv6'): void {
  const [address, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (address && isIP(address) && Number.isInteger(prefix)) list.addSubnet(address, prefix, type);
}

function checkURL(name: string, value: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new InvalidParameterError(NAME, name, `must be an absolute URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidParameterError(NAME, name, 'must be an http or https URL');
  if (url.search || url.hash) throw new InvalidParameterError(NAME, name, 'must not have a query or fragment');
  return url;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new InvalidParameterError(NAME, name, `must be a positive duration, got ${String(value)}`);
  return value;
}

/**
 * The config.yml factory, with distribution's option names: `baseurl`, `privatekey` (the path of
 * the PEM file), `keypairid`, `duration`, `ipfilteredby`, `awsregion`, `updatefrequency`, `iprangesurl`.
 */
export function cloudfrontFromConfig(driver: StorageDriver, options: Record<string, unknown>): CloudFrontMiddleware {
  const reader = readOptions(NAME, options, ['baseurl', 'privatekey', 'keypairid', 'duration', 'ipfilteredby', 'awsregion', 'updatefrequency', 'iprangesurl']);
  const keyFile = reader.requiredString('privatekey');
  let privateKey: string;
  try {
    privateKey = readFileSync(keyFile, 'utf8');
  } catch (err) {
    throw reader.invalid('privatekey', `cannot read the key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const filter = (reader.string('ipfilteredby') || 'none').toLowerCase();
  return reader.construct(
    () =>
      new CloudFrontMiddleware(driver, {
        baseURL: reader.requiredString('baseurl'),
        privateKey,
        keyPairId: reader.requiredString('keypairid'),
        durationMs: reader.has('duration') ? durationMs(reader, 'duration', 20 * 60_000) : undefined,
        ipFilteredBy: filter as CloudFrontOptions['ipFilteredBy'],
        awsRegions: stringList(reader, 'awsregion'),
        updateFrequencyMs: reader.has('updatefrequency') ? durationMs(reader, 'updatefrequency', 12 * 3600_000) : undefined,
        ipRangesURL: reader.string('iprangesurl') || undefined,
      }),
    {
      baseURL: 'baseurl',
      privateKey: 'privatekey',
      keyPairId: 'keypairid',
      durationMs: 'duration',
      ipFilteredBy: 'ipfilteredby',
      awsRegions: 'awsregion',
      updateFrequencyMs: 'updatefrequency',
      ipRangesURL: 'iprangesurl',
    },
  );
}
