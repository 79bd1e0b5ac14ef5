import { ParameterReader, registerDriver } from '@stowage/core';
import { SwiftDriver } from './driver';
import {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_COPY_CONCURRENCY,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_SEGMENT_CONCURRENCY,
  DRIVER_NAME,
  MIN_CHUNK_SIZE,
  type AuthVersion,
  type EndpointType,
  type SwiftDriverOptions,
} from './options';

/**
 * Builds a SwiftDriver from distribution's swift config.yml parameters (same names and defaults):
 * authurl, username, password, container, region, tenant, tenantid, domain, domainid,
 * tenantdomain, tenantdomainid, trustid, insecureskipverify, chunksize, prefix, secretkey,
 * accesskey, authversion, endpointtype, tempurlcontainerkey, tempurlmethods, rootdirectory; plus
 * applicationcredentialid / applicationcredentialname / applicationcredentialsecret, token,
 * segmentconcurrency, copyconcurrency and `redirect: { expiry }` (or `redirectexpiry`).
 */
export function swiftDriverFactory(parameters: Record<string, unknown> = {}): SwiftDriver {
  const params = new ParameterReader(DRIVER_NAME, parameters);
  const authVersion = params.integer('authversion', { default: 0, min: 0, max: 3 });
  if (authVersion === 0 && params.has('authversion')) throw params.invalid('authversion', 'must be 1, 2 or 3');
  const endpointType = params.string('endpointtype', 'public').toLowerCase();
  if (!['public', 'internal', 'admin'].includes(endpointType)) throw params.invalid('endpointtype', `must be public, internal or admin, got ${JSON.stringify(endpointType)}`);
  const applicationCredentialSecret = params.string('applicationcredentialsecret') || undefined;
  const token = params.string('token') || undefined;
  const options: SwiftDriverOptions = {
    authUrl: params.requiredString('authurl'),
    authVersion: authVersion === 0 ? undefined : (authVersion as AuthVersion),
    // distribution requires username and password; an application credential or a token replaces them.
    username: applicationCredentialSecret || token ? params.string('username') || undefined : params.requiredString('username'),
    password: applicationCredentialSecret || token ? params.string('password') || undefined : params.requiredString('password'),
    container: params.requiredString('container'),
    region: params.string('region') || undefined,
    tenant: params.string('tenant') || undefined,
    tenantId: params.string('tenantid') || undefined,
    domain: params.string('domain') || undefined,
    domainId: params.string('domainid') || undefined,
    tenantDomain: params.string('tenantdomain') || undefined,
    tenantDomainId: params.string('tenantdomainid') || undefined,
    trustId: params.string('trustid') || undefined,
    applicationCredentialId: params.string('applicationcredentialid') || undefined,
    applicationCredentialName: params.string('applicationcredentialname') || undefined,
    applicationCredentialSecret,
    token,
    insecureSkipVerify: params.boolean('insecureskipverify', false),
    endpointType: endpointType as EndpointType,
    chunkSize: params.integer('chunksize', { default: DEFAULT_CHUNK_SIZE, min: MIN_CHUNK_SIZE }),
    segmentConcurrency: params.integer('segmentconcurrency', { default: DEFAULT_SEGMENT_CONCURRENCY, min: 1 }),
    copyConcurrency: params.integer('copyconcurrency', { default: DEFAULT_COPY_CONCURRENCY, min: 1 }),
    prefix: params.string('prefix', ''),
    rootDirectory: params.string('rootdirectory', ''),
    secretKey: params.string('secretkey') || undefined,
    accessKey: params.string('accesskey') || undefined,
    tempUrlContainerKey: params.boolean('tempurlcontainerkey', false),
    tempUrlMethods: methods(params),
    redirectExpirySeconds: params.redirectExpirySeconds(DEFAULT_REDIRECT_EXPIRY_SECONDS),
  };
  return new SwiftDriver(options);
}

/** `tempurlmethods`: a YAML list, or a comma/space separated string from an environment variable. */
function methods(params: ParameterReader): string[] | undefined {
  const raw = params.raw('tempurlmethods');
  if (raw === undefined || raw === '') return undefined;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/).filter(Boolean) : undefined;
  if (!list || list.some((m) => typeof m !== 'string' || !/^[A-Za-z]+$/.test(m))) throw params.invalid('tempurlmethods', 'must be a list of HTTP methods such as [GET, HEAD]');
  return (list as string[]).map((m) => m.toUpperCase());
}

registerDriver(DRIVER_NAME, swiftDriverFactory);
