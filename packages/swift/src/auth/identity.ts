/**
 * Swift auth v1 (tempauth, swauth) and Keystone v2/v3 (password, application credential, token,
 * trust), each ending in a token and the object-store URL picked from the catalog.
 */
import { InvalidParameterError } from '@stowage/core';
import { SwiftHttpError } from '../http/errors';
import { backoff, bodyText, discard, header, isRetryableNetworkError, isRetryableStatus, send } from '../http/transport';
import type { Agent } from 'undici';
import { DRIVER_NAME, type AuthVersion, type EndpointType, type SwiftAuthOptions } from '../options';
import type { Authenticate, Credentials } from './types';

/** v3 in the URL means Keystone v3, v2 means v2.0, anything else (…/auth/v1.0) v1. */
export function guessAuthVersion(authUrl: string): AuthVersion {
  if (/\/v3(\/|$)/.test(authUrl)) return 3;
  if (/\/v2(\.0)?(\/|$)/.test(authUrl)) return 2;
  return 1;
}

/**
 * The authentication of `options`, asked again (up to `maxAttempts` in all) after a network failure
 * or a 5xx/429 answer, as every other request is: asking for a token changes nothing stored, and
 * a new driver's first call must not fail on one reset connection.
 */
export function authenticator(options: SwiftAuthOptions, agent: Agent, maxAttempts = 1): Authenticate {
  const version = options.authVersion ?? guessAuthVersion(options.authUrl);
  let once: Authenticate;
  if (version === 1) once = (signal) => authV1(options, agent, signal);
  else if (version === 2) once = (signal) => authV2(options, agent, signal);
  else if (version === 3) once = (signal) => authV3(options, agent, signal);
  else throw new InvalidParameterError(DRIVER_NAME, 'authversion', `must be 1, 2 or 3, got ${String(version)}`);
  return async (signal) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(signal);
      } catch (err) {
        const retryable = isRetryableNetworkError(err) || (err instanceof SwiftHttpError && isRetryableStatus(err.status));
        if (attempt >= maxAttempts || !retryable || signal?.aborted) throw err;
        await backoff(attempt, signal);
      }
    }
  };
}

async function authV1(options: SwiftAuthOptions, agent: Agent, signal?: AbortSignal): Promise<Credentials> {
  const response = await send(agent, {
    method: 'GET',
    url: options.authUrl,
    headers: { 'x-auth-user': options.username ?? '', 'x-auth-key': options.password ?? '' },
    signal,
  });
  if (response.statusCode < 200 || response.statusCode > 299) throw await failure(response, 'GET', 'auth v1');
  await discard(response);
  const token = header(response, 'x-auth-token');
  const storageUrl = header(response, 'x-storage-url');
  if (!token || !storageUrl) throw new SwiftHttpError(response.statusCode, 'GET', 'auth v1', 'no X-Auth-Token or X-Storage-Url in the answer');
  const ttl = Number(header(response, 'x-auth-token-expires'));
  return { token, storageUrl: trimSlash(storageUrl), expiresAt: Number.isFinite(ttl) && ttl > 0 ? Date.now() + ttl * 1000 : undefined };
}

interface V2Access {
  access?: {
    token?: { id?: string; expires?: string };
    serviceCatalog?: Array<{ type?: string; endpoints?: Array<{ region?: string } & Partial<Record<'publicURL' | 'internalURL' | 'adminURL', string>>> }>;
  };
}

async function authV2(options: SwiftAuthOptions, agent: Agent, signal?: AbortSignal): Promise<Credentials> {
  const auth: Record<string, unknown> = { passwordCredentials: { username: options.username, password: options.password } };
  if (options.tenantId) auth.tenantId = options.tenantId;
  else if (options.tenant) auth.tenantName = options.tenant;
  const response = await send(agent, {
    method: 'POST',
    url: `${trimSlash(options.authUrl)}/tokens`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ auth }),
    signal,
  });
  if (response.statusCode !== 200 && response.statusCode !== 203) throw await failure(response, 'POST', 'keystone v2 tokens');
  const access = ((await response.body.json()) as V2Access).access;
  const token = access?.token?.id;
  if (!token) throw new SwiftHttpError(response.statusCode, 'POST', 'keystone v2 tokens', 'no token in the answer');
  const field: 'publicURL' | 'internalURL' | 'adminURL' = `${options.endpointType ?? 'public'}URL`;
  const candidates = (access?.serviceCatalog ?? [])
    .filter((service) => service.type === 'object-store')
    .flatMap((service) => service.endpoints ?? [])
    .map((endpoint) => ({ region: endpoint.region, url: endpoint[field] }));
  return { token, storageUrl: pickEndpoint(candidates, options), expiresAt: parseTime(access?.token?.expires) };
}

interface V3Token {
  token?: {
    expires_at?: string;
    catalog?: Array<{ type?: string; endpoints?: Array<{ region?: string; region_id?: string; interface?: string; url?: string }> }>;
  };
}

async function authV3(options: SwiftAuthOptions, agent: Agent, signal?: AbortSignal): Promise<Credentials> {
  const response = await send(agent, {
    method: 'POST',
    url: `${trimSlash(options.authUrl)}/auth/tokens`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ auth: v3AuthBody(options) }),
    signal,
  });
  if (response.statusCode !== 201 && response.statusCode !== 200) throw await failure(response, 'POST', 'keystone v3 auth/tokens');
  const token = header(response, 'x-subject-token');
  const body = (await response.body.json()) as V3Token;
  if (!token) throw new SwiftHttpError(response.statusCode, 'POST', 'keystone v3 auth/tokens', 'no X-Subject-Token in the answer');
  const wanted = options.endpointType ?? 'public';
  const candidates = (body.token?.catalog ?? [])
    .filter((service) => service.type === 'object-store')
    .flatMap((service) => service.endpoints ?? [])
    .filter((endpoint) => endpoint.interface === wanted)
    .map((endpoint) => ({ region: endpoint.region_id ?? endpoint.region, alsoRegion: endpoint.region, url: endpoint.url }));
  return { token, storageUrl: pickEndpoint(candidates, options), expiresAt: parseTime(body.token?.expires_at) };
}

/** The v3 `auth` object: identity by application credential, token or password, scoped unless the method carries its scope. */
function v3AuthBody(options: SwiftAuthOptions): Record<string, unknown> {
  const domainRef = (id?: string, name?: string) => (id ? { id } : name ? { name } : undefined);
  if (options.applicationCredentialSecret && (options.applicationCredentialId || options.applicationCredentialName)) {
    const credential: Record<string, unknown> = { secret: options.applicationCredentialSecret };
    if (options.applicationCredentialId) credential.id = options.applicationCredentialId;
    else {
      credential.name = options.applicationCredentialName;
      credential.user = { name: options.username, domain: domainRef(options.domainId, options.domain) ?? { id: 'default' } };
    }
    // An application credential is bound to its project: no scope may be given.
    return { identity: { methods: ['application_credential'], application_credential: credential } };
  }
  let identity: Record<string, unknown>;
  if (options.token && !options.password) {
    identity = { methods: ['token'], token: { id: options.token } };
  } else {
    const user: Record<string, unknown> = { name: options.username, password: options.password };
    user.domain = domainRef(options.domainId, options.domain) ?? { id: 'default' };
    identity = { methods: ['password'], password: { user } };
  }
  let scope: Record<string, unknown> | undefined;
  if (options.trustId) scope = { 'OS-TRUST:trust': { id: options.trustId } };
  else if (options.tenantId) scope = { project: { id: options.tenantId } };
  else if (options.tenant) {
    const projectDomain = domainRef(options.tenantDomainId, options.tenantDomain) ?? domainRef(options.domainId, options.domain) ?? { id: 'default' };
    scope = { project: { name: options.tenant, domain: projectDomain } };
  }
  return scope ? { identity, scope } : { identity };
}

/** The first object-store endpoint in the wanted region (any region when none is configured). */
function pickEndpoint(candidates: Array<{ region?: string; alsoRegion?: string; url?: string }>, options: SwiftAuthOptions): string {
  const match = candidates.find((c) => c.url && (!options.region || c.region === options.region || c.alsoRegion === options.region));
  if (match?.url) return trimSlash(match.url);
  const offered = candidates.map((c) => `${c.region ?? '?'}`).join(', ') || 'none';
  const type: EndpointType = options.endpointType ?? 'public';
  throw new InvalidParameterError(
    DRIVER_NAME,
    options.region ? 'region' : 'endpointtype',
    `the catalog has no ${type} object-store endpoint${options.region ? ` in region ${options.region}` : ''} (object-store ${type} regions: ${offered})`,
  );
}

async function failure(response: Awaited<ReturnType<typeof send>>, method: string, target: string): Promise<SwiftHttpError> {
  return new SwiftHttpError(response.statusCode, method, target, await bodyText(response, 1024).catch(() => ''));
}

function parseTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  // Keystone v2 sometimes omits the zone; its times are UTC.
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');
