/**
 * Which Azure the azure tests run against: Azurite (started by the tests) unless STOWAGE_AZURE_*
 * variables name a real account. The variables are distribution's parameters:
 *
 *   STOWAGE_AZURE_CONTAINER         (required to select a real account)
 *   STOWAGE_AZURE_ACCOUNTNAME, STOWAGE_AZURE_ACCOUNTKEY    shared key
 *   STOWAGE_AZURE_CONNECTIONSTRING                         or a connection string
 *   STOWAGE_AZURE_CREDENTIALS_TYPE  client_secret | default_credentials, with
 *   STOWAGE_AZURE_TENANTID, STOWAGE_AZURE_CLIENTID, STOWAGE_AZURE_SECRET for client_secret
 *   STOWAGE_AZURE_REALM, STOWAGE_AZURE_SERVICEURL, STOWAGE_AZURE_ROOTDIRECTORY  optional
 *
 * Each run works below a random directory under the root directory and removes it afterwards.
 */
import { azureDriverFactory, type AzureDriverOptions } from '@stowage/azure';

export const REAL_AZURE_HINT =
  'To run against a real account instead, set STOWAGE_AZURE_CONTAINER and STOWAGE_AZURE_ACCOUNTNAME/STOWAGE_AZURE_ACCOUNTKEY (see packages/azure/README.md).';

export function realAzureOptions(env: NodeJS.ProcessEnv = process.env): AzureDriverOptions | undefined {
  const container = env.STOWAGE_AZURE_CONTAINER;
  if (!container) return undefined;
  const parameters: Record<string, unknown> = { container };
  for (const name of ['accountname', 'accountkey', 'connectionstring', 'realm', 'serviceurl', 'rootdirectory']) {
    const value = env[`STOWAGE_AZURE_${name.toUpperCase()}`];
    if (value) parameters[name] = value;
  }
  const type = env.STOWAGE_AZURE_CREDENTIALS_TYPE;
  if (type) {
    parameters.credentials = { type, tenantid: env.STOWAGE_AZURE_TENANTID, clientid: env.STOWAGE_AZURE_CLIENTID, secret: env.STOWAGE_AZURE_SECRET };
  }
  return azureDriverFactory(parameters).options;
}
