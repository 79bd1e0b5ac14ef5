import { randomBytes } from 'node:crypto';
import { describeConformance } from '@stowage/conformance';
import { AzureDriver, type AzureDriverOptions } from '@stowage/azure';
import { startAzurite, stopAzurite } from '../services/azurite';
import { requireService } from '../services/require-service';
import { realAzureOptions, REAL_AZURE_HINT } from '../unit/azure/target';

/**
 * The conformance suite against Azurite (started by this file), or against a real Azure account
 * when STOWAGE_AZURE_* variables say which (see test/unit/azure/target.ts). Either way the run
 * gets a random root directory; against Azurite also a fresh container, deleted afterwards.
 *
 * Profile 'standard' (a 256 MiB large stream): Azurite keeps blobs in RAM, and distribution's
 * 5 GiB stream would measure the emulator, not the driver.
 */
const real = realAzureOptions();
let options: AzureDriverOptions | undefined;
let usingAzurite = false;
let runDirectory = '';

describe(`azure (${real ? 'real Azure account' : 'Azurite'})`, function () {
  before(async function () {
    const runId = randomBytes(6).toString('hex');
    if (real) {
      runDirectory = `/stowage-conformance-${runId}`;
      options = { ...real, rootDirectory: `${real.rootDirectory ?? ''}${runDirectory}` };
      return;
    }
    const azurite = await requireService(this, `Azurite (${REAL_AZURE_HINT})`, () => startAzurite());
    usingAzurite = true;
    options = {
      serviceUrl: azurite.serviceUrl,
      accountName: azurite.accountName,
      accountKey: azurite.accountKey,
      container: `stowage-conformance-${runId}`,
      rootDirectory: `root-${runId}`,
    };
  });

  after(async () => {
    if (usingAzurite && options) {
      await new AzureDriver(options).containerClient.deleteIfExists();
      await stopAzurite();
    } else if (real) {
      // The suite leaves nothing behind; this only catches what a failed run may have left.
      await new AzureDriver(real).delete(runDirectory).catch(() => undefined);
    }
  });

  describeConformance('azure', () => new AzureDriver(options!), {
    profile: 'standard',
    // A new process would build its own driver (and SDK client) from the same parameters.
    newInstance: (driver) => new AzureDriver((driver as AzureDriver).options),
    // Last-Modified has one-second resolution.
    modTimeResolutionMs: 1000,
  });
});
