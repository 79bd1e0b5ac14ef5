// The identities the Keystone stand-in knows, its token store, its catalog, and the v2/v3 token
// requests turned into replies. No I/O here: index.ts does the HTTP.
import { randomBytes } from 'node:crypto';

const KEYSTONE_DOMAIN = { id: 'default', name: 'Default' } as const;
export const KEYSTONE_USER = { id: 'u-tester', name: 'tester', password: 'testing', domain: KEYSTONE_DOMAIN } as const;
export const KEYSTONE_PROJECT = { id: 'p-test', name: 'test', domain: KEYSTONE_DOMAIN } as const;
/** Belongs to user tester and is scoped to project test, as every application credential has a project of its own. */
export const KEYSTONE_APPLICATION_CREDENTIAL = {
  id: 'ac-1',
  name: 'stowage-ac',
  secret: 'ac-secret',
  user: KEYSTONE_USER,
  project: KEYSTONE_PROJECT,
} as const;
/** Lets user tester (the trustee) act in project test. */
export const KEYSTONE_TRUST = { id: 'trust-1', trustee: KEYSTONE_USER, project: KEYSTONE_PROJECT } as const;

/** Everything the stand-in accepts, in one place for tests. */
export const KEYSTONE_USERS = {
  domain: KEYSTONE_DOMAIN,
  user: KEYSTONE_USER,
  project: KEYSTONE_PROJECT,
  applicationCredential: KEYSTONE_APPLICATION_CREDENTIAL,
  trust: KEYSTONE_TRUST,
} as const;

export const REGIONS = ['RegionOne', 'RegionTwo'] as const;
export const INTERFACES = ['public', 'internal', 'admin'] as const;
export type Region = (typeof REGIONS)[number];
export type Interface = (typeof INTERFACES)[number];
// Not in the order a careless client would want: the first endpoint of a region is not the public one.
const CATALOG_INTERFACE_ORDER: readonly Interface[] = ['admin', 'internal', 'public'];

/** tempauth's account for test:tester (fixed by swift.sh), so the catalog URLs match the real storage URL's path. */
const SWIFT_ACCOUNT = 'AUTH_test';

export function objectStoreUrl(base: string, region: Region, iface: Interface): string {
  return `${base}/swift/${region}/${iface}/v1/${SWIFT_ACCOUNT}`;
}

export interface Token {
  id: string;
  userId: string;
  /** Absent for an unscoped token, which the proxy does not accept. */
  project?: typeof KEYSTONE_PROJECT;
  methods: string[];
  issuedAt: number;
  expiresAt: number;
  auditId: string;
  trustId?: string;
  applicationCredentialId?: string;
}

export class TokenStore {
  private readonly tokens = new Map<string, Token>();
  ttlSeconds = 3600;

  /** `notAfter` caps the expiry, as Keystone does for a token obtained with another token. */
  issue(fields: Pick<Token, 'userId' | 'project' | 'methods' | 'trustId' | 'applicationCredentialId'>, notAfter?: number): Token {
    const issuedAt = Date.now();
    const token: Token = {
      ...fields,
      id: `ks-${randomBytes(24).toString('hex')}`,
      issuedAt,
      expiresAt: Math.min(issuedAt + this.ttlSeconds * 1000, notAfter ?? Infinity),
      auditId: randomBytes(16).toString('base64url'),
    };
    this.tokens.set(token.id, token);
    return token;
  }

  /** The token if this stand-in issued it and it has not expired. */
  valid(id: unknown): Token | undefined {
    const token = typeof id === 'string' ? this.tokens.get(id) : undefined;
    return token && token.expiresAt > Date.now() ? token : undefined;
  }

  expireAll(): void {
    const now = Date.now();
    for (const token of this.tokens.values()) token.expiresAt = Math.min(token.expiresAt, now);
  }
}

/** A reply to a token request (or a Keystone-style error, thrown as KeystoneError). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export class KeystoneError extends Error {
  constructor(
    readonly status: 400 | 401,
    message: string,
  ) {
    super(message);
  }

  get body() {
    const title = this.status === 400 ? 'Bad Request' : 'Unauthorized';
    return { error: { code: this.status, title, message: this.message } };
  }
}

const UNAUTHORIZED = 'The request you have made requires authentication.';
const unauthorized = (message = UNAUTHORIZED) => new KeystoneError(401, message);
const badRequest = (message: string) => new KeystoneError(400, message);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const field = (value: unknown, key: string): unknown => (isObject(value) ? value[key] : undefined);

// Keystone v3 writes microseconds ("…T12:00:00.123000Z"), v2 whole seconds ("…T12:00:00Z").
const v3Time = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');
const v2Time = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function domainMatches(domain: unknown): boolean {
  const id = field(domain, 'id');
  const name = field(domain, 'name');
  if (typeof id !== 'string' && typeof name !== 'string') throw badRequest('Expecting to find id or name in domain');
  return (id === undefined || id === KEYSTONE_DOMAIN.id) && (name === undefined || name === KEYSTONE_DOMAIN.name);
}

/** A v3 user reference: {id} or {name, domain: {id}|{name}}. Returns whether it names user tester. */
function isKnownUser(user: unknown): boolean {
  if (!isObject(user)) throw badRequest('Expecting to find user');
  if (typeof user.id === 'string') return user.id === KEYSTONE_USER.id;
  if (typeof user.name !== 'string') throw badRequest('Expecting to find id or name in user');
  if (!isObject(user.domain)) throw badRequest('Expecting to find domain in user');
  return domainMatches(user.domain) && user.name === KEYSTONE_USER.name;
}

function checkPassword(user: unknown): string {
  if (!isKnownUser(user) || field(user, 'password') !== KEYSTONE_USER.password) throw unauthorized();
  return KEYSTONE_USER.id;
}

function checkApplicationCredential(credential: Json): typeof KEYSTONE_APPLICATION_CREDENTIAL {
  const known = KEYSTONE_APPLICATION_CREDENTIAL;
  let matches: boolean;
  if (typeof credential.id === 'string') matches = credential.id === known.id;
  else if (typeof credential.name === 'string') matches = credential.name === known.name && isKnownUser(credential.user);
  else throw badRequest('Expecting to find id or name in application_credential');
  if (!matches || credential.secret !== known.secret) throw unauthorized();
  return known;
}

function resolveProject(project: unknown): typeof KEYSTONE_PROJECT {
  if (!isObject(project)) throw badRequest('Expecting to find project in scope');
  let matches: boolean;
  if (typeof project.id === 'string') matches = project.id === KEYSTONE_PROJECT.id;
  else if (typeof project.name !== 'string') throw badRequest('Expecting to find id or name in project');
  else if (!isObject(project.domain)) throw badRequest('Expecting to find domain in project');
  else matches = domainMatches(project.domain) && project.name === KEYSTONE_PROJECT.name;
  if (!matches) throw unauthorized();
  return KEYSTONE_PROJECT;
}

export interface Catalog {
  v2: unknown[];
  v3: unknown[];
}

/** The object-store service comes last, after decoys, so a client must pick it by type. */
export function buildCatalog(base: string): Catalog {
  const services = [
    { id: 'svc-compute', type: 'compute', name: 'nova', url: (r: Region, i: Interface) => `${base}/compute/${r}/${i}/v2.1` },
    { id: 'svc-identity', type: 'identity', name: 'keystone', url: () => `${base}/v3` },
    { id: 'svc-swift', type: 'object-store', name: 'swift', url: (r: Region, i: Interface) => objectStoreUrl(base, r, i) },
  ];
  return {
    v3: services.map((service) => ({
      id: service.id,
      type: service.type,
      name: service.name,
      endpoints: REGIONS.flatMap((region) =>
        CATALOG_INTERFACE_ORDER.map((iface) => ({
          id: `ep-${service.name}-${region}-${iface}`,
          region,
          region_id: region,
          interface: iface,
          url: service.url(region, iface),
        })),
      ),
    })),
    v2: services.map((service) => ({
      type: service.type,
      name: service.name,
      endpoints: REGIONS.map((region) => ({
        id: `ep-${service.name}-${region}`,
        region,
        publicURL: service.url(region, 'public'),
        internalURL: service.url(region, 'internal'),
        adminURL: service.url(region, 'admin'),
      })),
      endpoints_links: [],
    })),
  };
}

const MEMBER_ROLE = { id: 'r-member', name: 'member' };

/** POST /v3/auth/tokens. `withCatalog` is false for `?nocatalog`. */
export function authenticateV3(store: TokenStore, catalog: Catalog, request: unknown, withCatalog: boolean): Reply {
  const auth = field(request, 'auth');
  const identity = field(auth, 'identity');
  const methods = field(identity, 'methods');
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === 'string')) {
    throw badRequest('Expecting to find auth.identity.methods, a non-empty list of strings');
  }
  if (methods.length !== 1) throw unauthorized('This stand-in takes exactly one authentication method.');
  const method = methods[0] as string;
  const details = field(identity, method);
  if (!isObject(details)) throw badRequest(`Expecting to find ${method} in identity`);

  let userId: string;
  let applicationCredential: typeof KEYSTONE_APPLICATION_CREDENTIAL | undefined;
  let notAfter: number | undefined;
  if (method === 'password') {
    userId = checkPassword(details.user);
  } else if (method === 'application_credential') {
    applicationCredential = checkApplicationCredential(details);
    userId = applicationCredential.user.id;
  } else if (method === 'token') {
    const source = store.valid(details.id);
    if (!source) throw unauthorized('Could not find token or it has expired.');
    userId = source.userId;
    notAfter = source.expiresAt;
  } else {
    throw unauthorized(`Attempted to authenticate with an unsupported method: ${method}`);
  }

  const scope = field(auth, 'scope');
  let project: typeof KEYSTONE_PROJECT | undefined;
  let trustId: string | undefined;
  if (applicationCredential) {
    if (scope !== undefined) throw unauthorized('Application credentials cannot request a scope.');
    project = applicationCredential.project;
  } else if (scope !== undefined) {
    if (!isObject(scope)) throw badRequest('scope must be an object');
    if (scope.project !== undefined) {
      project = resolveProject(scope.project);
    } else if (scope['OS-TRUST:trust'] !== undefined) {
      const trust = KEYSTONE_TRUST;
      if (field(scope['OS-TRUST:trust'], 'id') !== trust.id || userId !== trust.trustee.id) throw unauthorized();
      project = trust.project;
      trustId = trust.id;
    } else {
      throw unauthorized('This stand-in scopes tokens to a project or a trust only.');
    }
  }
  // No scope and no application credential: an unscoped token (user tester has no default project).

  const token = store.issue({ userId, project, methods: [method], trustId, applicationCredentialId: applicationCredential?.id }, notAfter);
  const body: Json = {
    methods: token.methods,
    user: { id: KEYSTONE_USER.id, name: KEYSTONE_USER.name, domain: KEYSTONE_DOMAIN, password_expires_at: null },
    audit_ids: [token.auditId],
    issued_at: v3Time(token.issuedAt),
    expires_at: v3Time(token.expiresAt),
  };
  if (project) {
    body.project = { id: project.id, name: project.name, domain: project.domain };
    body.is_domain = false;
    body.roles = [MEMBER_ROLE];
  }
  if (applicationCredential) {
    body.application_credential = { id: applicationCredential.id, name: applicationCredential.name, restricted: true };
  }
  if (trustId) {
    body['OS-TRUST:trust'] = { id: trustId, impersonation: false, trustee_user: { id: userId }, trustor_user: { id: userId } };
  }
  if (withCatalog) body.catalog = project ? catalog.v3 : [];
  return { status: 201, headers: { 'X-Subject-Token': token.id }, body: { token: body } };
}

/** POST /v2.0/tokens: passwordCredentials or token, with tenantName/tenantId (none: unscoped). */
export function authenticateV2(store: TokenStore, catalog: Catalog, request: unknown): Reply {
  const auth = field(request, 'auth');
  if (!isObject(auth)) throw badRequest('Expecting to find auth in request body');
  let notAfter: number | undefined;
  if (isObject(auth.passwordCredentials)) {
    const { username, userId, password } = auth.passwordCredentials;
    const known = username !== undefined ? username === KEYSTONE_USER.name : userId === KEYSTONE_USER.id;
    if (!known || password !== KEYSTONE_USER.password) throw unauthorized();
  } else if (isObject(auth.token)) {
    const source = store.valid(auth.token.id);
    if (!source) throw unauthorized('Could not find token or it has expired.');
    notAfter = source.expiresAt;
  } else {
    throw badRequest('Expecting to find passwordCredentials or token in auth');
  }

  let project: typeof KEYSTONE_PROJECT | undefined;
  if (auth.tenantId !== undefined || auth.tenantName !== undefined) {
    // v2 tenants live in the default domain.
    const known = auth.tenantId !== undefined ? auth.tenantId === KEYSTONE_PROJECT.id : auth.tenantName === KEYSTONE_PROJECT.name;
    if (!known) throw unauthorized();
    project = KEYSTONE_PROJECT;
  }

  const token = store.issue({ userId: KEYSTONE_USER.id, project, methods: ['password'] }, notAfter);
  const tokenBody: Json = {
    id: token.id,
    issued_at: v2Time(token.issuedAt),
    expires: v2Time(token.expiresAt),
    audit_ids: [token.auditId],
  };
  if (project) tokenBody.tenant = { id: project.id, name: project.name, enabled: true, description: null };
  return {
    status: 200,
    body: {
      access: {
        token: tokenBody,
        serviceCatalog: project ? catalog.v2 : [],
        user: {
          id: KEYSTONE_USER.id,
          name: KEYSTONE_USER.name,
          username: KEYSTONE_USER.name,
          roles: project ? [{ name: MEMBER_ROLE.name }] : [],
          roles_links: [],
        },
        metadata: { is_admin: 0, roles: project ? [MEMBER_ROLE.id] : [] },
      },
    },
  };
}
