import { ParameterReader, registerDriver } from '@stowage/core';
import { SwiftDriver } from './driver';
import {
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_SILENCE_TIMEOUT_MS,
  DRIVER_NAME,
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
 * segmentconcurrency, copyconcurrency, silencetimeout (a duration: how long a request may wait in
 * silence before it is retried) and `redirect: { expiry }` (or `redirectexpiry`).
 */
export function swiftDriverFactory(parameters: Record<string, unknown> = {}): SwiftDriver {
  const params = new ParameterReader(DRIVER_NAME, parameters);
  // Parsed here, checked by the constructor (required values, choices, ranges).
  const options: SwiftDriverOptions = {
    authUrl: params.string('authurl', ''),
    authVersion: params.optionalInteger('authversion') as AuthVersion | undefined,
    username: params.string('username') || undefined,
    password: params.string('password') || undefined,
    container: params.string('container', ''),
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
    applicationCredentialSecret: params.string('applicationcredentialsecret') || undefined,
    token: params.string('token') || undefined,
    insecureSkipVerify: params.boolean('insecureskipverify', false),
    endpointType: params.string('endpointtype', 'public').toLowerCase() as EndpointType,
    chunkSize: params.optionalInteger('chunksize'),
    segmentConcurrency: params.optionalInteger('segmentconcurrency'),
    copyConcurrency: params.optionalInteger('copyconcurrency'),
    prefix: params.string('prefix', ''),
    rootDirectory: params.string('rootdirectory', ''),
    secretKey: params.string('secretkey') || undefined,
    accessKey: params.string('accesskey') || undefined,
    tempUrlContainerKey: params.boolean('tempurlcontainerkey', false),
    tempUrlMethods: methods(params),
    silenceTimeoutMs: Math.ceil(params.durationSeconds('silencetimeout', DEFAULT_SILENCE_TIMEOUT_MS / 1000) * 1000),
    redirectExpirySeconds: params.redirectExpirySeconds(DEFAULT_REDIRECT_EXPIRY_SECONDS),
  };
  return params.construct(() => new SwiftDriver(options), { silenceTimeoutMs: 'silencetimeout', redirectExpirySeconds: 'redirectexpiry' });
}

/** `tempurlmethods`: a YAML list, or a comma/space separated string from an environment variable. */
function methods(params: ParameterReader): string[] | undefined {
  const raw = params.raw('tempurlmethods');
  if (raw === undefined || raw === '') return undefined;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/).filter(Boolean) : undefined;
  if (!list || list.some((m) => typeof m !== 'string' || !/^[A-Za-z]+$/.test(m)))
    throw params.invalid('tempurlmethods', 'must be a list of HTTP methods such as [GET, HEAD]');
  return (list as string[]).map((m) => m.toUpperCase());
}

registerDriver(DRIVER_NAME, swiftDriverFactory);
