import { randomBytes } from 'node:crypto';
import { swiftDriverFactory } from '@stowage/swift';
import { describeSwiftConformance } from '../helpers/swift-native';

/**
 * The same suite against any Swift cluster configured from the environment: every
 * STOWAGE_SWIFT_<PARAMETER> is distribution's config.yml parameter of that name, e.g.
 * STOWAGE_SWIFT_AUTHURL, _USERNAME, _PASSWORD, _CONTAINER (default stowage-conformance),
 * _TENANT, _DOMAIN, _REGION, _ENDPOINTTYPE. Each run works below a random prefix and removes what
 * it wrote. Redirects are tested when the account (or container) has a TempURL key or _SECRETKEY is set.
 *
 *   STOWAGE_SWIFT_AUTHURL=... STOWAGE_SWIFT_USERNAME=... STOWAGE_SWIFT_PASSWORD=... npm run conformance -- --driver swift-env
 */
const PREFIX = 'STOWAGE_SWIFT_';
const parameters: Record<string, string> = {};
for (const [name, value] of Object.entries(process.env)) {
  // STOWAGE_SWIFT_PORT and _DIR configure the local test server, not a driver.
  if (name.startsWith(PREFIX) && value !== undefined && !['PORT', 'DIR', 'BACKEND_PORT'].includes(name.slice(PREFIX.length))) {
    parameters[name.slice(PREFIX.length).toLowerCase()] = value;
  }
}

if (parameters.authurl === undefined) {
  describe('swift on a cluster from the environment', () => {
    it('(skipped: set STOWAGE_SWIFT_AUTHURL, STOWAGE_SWIFT_USERNAME and STOWAGE_SWIFT_PASSWORD to run the suite against that cluster)', function () {
      this.skip();
    });
  });
} else {
  const prefix = `${(parameters.prefix ?? '').replace(/\/+$/, '')}/stowage-conformance/run-${randomBytes(4).toString('hex')}`.replace(/^\//, '');
  describe('swift on a cluster from the environment', () => {
    describeSwiftConformance('swift (environment)', () => swiftDriverFactory({ container: 'stowage-conformance', ...parameters, prefix }));
  });
}
