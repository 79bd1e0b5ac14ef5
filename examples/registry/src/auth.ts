/**
 * auth.htpasswd as distribution does it: HTTP Basic credentials checked against bcrypt entries of
 * an htpasswd file (bcryptjs; `$2y$`, `$2a$` and `$2b$` hashes). Successful checks are remembered for
 * a minute so that a push of many requests does not pay bcrypt's cost on each one. Passwords never
 * reach a log or an error.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { ConfigError } from './config';
import { RegistryError } from './errors';

const VERIFIED_TTL_MS = 60_000;

export class HtpasswdAuth {
  private readonly verified = new Map<string, number>();

  private constructor(
    private readonly realm: string,
    private readonly entries: ReadonlyMap<string, string>,
  ) {}

  /** Reads the htpasswd file; lines that are not `user:bcrypt-hash` are skipped, as distribution does. */
  static async load(path: string, realm: string): Promise<HtpasswdAuth> {
    let content: string;
    try {
      content = await readFile(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`auth.htpasswd.path: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const entries = new Map<string, string>();
    for (const line of content.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const hash = line.slice(colon + 1).trim();
      if (/^\$2[aby]\$\d\d\$/.test(hash)) entries.set(line.slice(0, colon), hash);
    }
    return new HtpasswdAuth(realm, entries);
  }

  /** Resolves when the request's Authorization header holds valid credentials, else throws UNAUTHORIZED (401). */
  async check(authorization: string | undefined): Promise<void> {
    const credentials = parseBasic(authorization);
    if (credentials && (await this.verify(credentials.user, credentials.password))) return;
    throw new RegistryError(401, 'UNAUTHORIZED', 'authentication required', undefined, { 'WWW-Authenticate': `Basic realm=${JSON.stringify(this.realm)}` });
  }

  private async verify(user: string, password: string): Promise<boolean> {
    const hash = this.entries.get(user);
    if (!hash) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    if (!(await bcrypt.compare(password, hash))) return false;
    const now = Date.now();
    if (this.verified.size >= 1000) for (const [known, expires] of this.verified) if (expires <= now) this.verified.delete(known);
    this.verified.set(key, now + VERIFIED_TTL_MS);
    return true;
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
