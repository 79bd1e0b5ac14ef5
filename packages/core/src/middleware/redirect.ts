import { InvalidParameterError } from '../errors';
import { DriverDecorator } from './decorator';
import type { RedirectOptions, StorageDriver } from '../types';

/**
 * distribution's `redirect` storage middleware: redirectURL answers `<baseurl><path>`, for a
 * driver whose content is also served by a web server or CDN (e.g. nginx over a filesystem root).
 * The path is checked to exist first, so a redirect never points at nothing.
 */
export class RedirectMiddleware extends DriverDecorator {
  private readonly base: string;

  constructor(inner: StorageDriver, options: { baseurl: string }) {
    super(inner);
    let url: URL;
    try {
      url = new URL(options.baseurl);
    } catch {
      throw new InvalidParameterError('redirect', 'baseurl', `must be an absolute URL, got ${JSON.stringify(options.baseurl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidParameterError('redirect', 'baseurl', 'must be an http or https URL');
    if (url.search || url.hash) throw new InvalidParameterError('redirect', 'baseurl', 'must not have a query or fragment');
    this.base = url.href.replace(/\/+$/, '');
  }

  override async redirectURL(path: string, opts?: RedirectOptions): Promise<string | null> {
    await this.inner.stat(path, opts); // validates the path and throws PathNotFoundError for nothing
    return `${this.base}${path}`;
  }
}
