/**
 * distribution's `rewrite` middleware: rewrites the URLs the wrapped driver's redirectURL gives,
 * for a client that must fetch through another host (a proxy or CDN in front of the store) or
 * scheme. `scheme` and `host` replace the URL's own; `trimprefix` is cut from the start of its
 * path. A URL signed over its host (S3 SigV4, Azure SAS) stays valid only where the host it
 * reaches forwards the original Host, as a proxy in front of the store does.
 */
import { DriverDecorator, InvalidParameterError, type RedirectOptions, type StorageDriver } from '@stowage/core';
import { readOptions } from './options';

/** Options of {@link RewriteMiddleware}. */
export interface RewriteOptions {
  /** `http` or `https`: the scheme redirect URLs get. */
  scheme?: string;
  /** `host` or `host:port`: the host redirect URLs get. */
  host?: string;
  /** Cut from the start of redirect URLs' paths when they start with it (e.g. `/bucket`). */
  trimPrefix?: string;
}

const NAME = 'rewrite';

/** See the module comment. */
export class RewriteMiddleware extends DriverDecorator {
  private readonly scheme: string | undefined;
  private readonly host: string | undefined;
  private readonly trimPrefix: string | undefined;

  constructor(inner: StorageDriver, options: RewriteOptions = {}) {
    super(inner);
    const scheme = options.scheme?.toLowerCase().replace(/:$/, '');
    if (scheme !== undefined && scheme !== 'http' && scheme !== 'https')
      throw new InvalidParameterError(NAME, 'scheme', `must be http or https, got ${JSON.stringify(options.scheme)}`);
    if (options.host !== undefined) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(`http://${options.host}`);
      } catch {
        parsed = undefined;
      }
      if (
        !parsed ||
        parsed.host === '' ||
        parsed.pathname !== '/' ||
        parsed.search ||
        parsed.username ||
        parsed.password ||
        `${parsed.host}` !== options.host.toLowerCase()
      ) {
        throw new InvalidParameterError(NAME, 'host', `must be a host or host:port, got ${JSON.stringify(options.host)}`);
      }
    }
    if (options.trimPrefix !== undefined && !options.trimPrefix.startsWith('/')) throw new InvalidParameterError(NAME, 'trimPrefix', 'must start with /');
    this.scheme = scheme;
    this.host = options.host;
    this.trimPrefix = options.trimPrefix?.replace(/\/+$/, '') || undefined;
  }

  override async redirectURL(path: string, opts?: RedirectOptions): Promise<string | null> {
    const original = await this.inner.redirectURL(path, opts);
    if (original === null) return null;
    const url = new URL(original);
    if (this.scheme) url.protocol = `${this.scheme}:`;
    if (this.host) url.host = this.host;
    const prefix = this.trimPrefix;
    if (prefix && (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`))) url.pathname = url.pathname.slice(prefix.length) || '/';
    return url.href;
  }
}

/** The config.yml factory: `scheme`, `host`, `trimprefix`. */
export function rewriteFromConfig(driver: StorageDriver, options: Record<string, unknown>): RewriteMiddleware {
  const reader = readOptions(NAME, options, ['scheme', 'host', 'trimprefix']);
  return reader.construct(
    () =>
      new RewriteMiddleware(driver, {
        scheme: reader.string('scheme') || undefined,
        host: reader.string('host') || undefined,
        trimPrefix: reader.string('trimprefix') || undefined,
      }),
    { trimPrefix: 'trimprefix' },
  );
}
