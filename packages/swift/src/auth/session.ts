import { raceAbort } from '@stowage/core';
import { DRIVER_NAME } from '../options';
import type { Authenticate, Credentials } from './types';

/**
 * Tokens this close to their expiry are renewed before use, so a request never starts with a
 * dying token; short-lived tokens are renewed after half their life instead.
 */
const RENEW_BEFORE_MS = 60_000;

/**
 * Holds the current token. Concurrent callers share one authentication round trip, and a
 * request that got 401 invalidates only the token it used, so a burst of 401s re-authenticates once.
 */
export class AuthSession {
  private current: Credentials | undefined;
  /** When `current` is to be renewed (epoch ms); undefined when its expiry is unknown. */
  private renewAt: number | undefined;
  private pending: Promise<Credentials> | undefined;

  constructor(private readonly authenticate: Authenticate) {}

  /** A token that is not known to be expired, authenticating when there is none. */
  async credentials(signal?: AbortSignal): Promise<Credentials> {
    const current = this.current;
    if (current && (this.renewAt === undefined || this.renewAt > Date.now())) return current;
    return this.renew(signal);
  }

  /** Forget `token` (a request was refused with it); a newer token is kept. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  private renew(signal?: AbortSignal): Promise<Credentials> {
    // The shared round trip ignores any one caller's signal: another caller may still need it.
    this.pending ??= this.authenticate()
      .then((credentials) => {
        const now = Date.now();
        this.current = credentials;
        this.renewAt = credentials.expiresAt === undefined ? undefined : credentials.expiresAt - Math.min(RENEW_BEFORE_MS, (credentials.expiresAt - now) / 2);
        return credentials;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return signal ? raceAbort(this.pending, signal, { driverName: DRIVER_NAME, operation: 'authenticate' }) : this.pending;
  }
}
