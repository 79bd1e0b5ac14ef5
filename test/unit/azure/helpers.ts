import { randomBytes } from 'node:crypto';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { AzureDriver, type AzureDriverOptions } from '@stowage/azure';
import { startAzurite, stopAzurite, type AzuriteInstance } from '../../services/azurite';
import { requireService } from '../../services/require-service';

export interface AzuriteFixture {
  readonly instance: AzuriteInstance;
  /** Driver options over this file's container, with a fresh random root directory unless given. */
  options(extra?: Partial<AzureDriverOptions>): AzureDriverOptions;
  driver(extra?: Partial<AzureDriverOptions>): AzureDriver;
  /** The raw SDK client of this file's container, to look behind the driver's back. */
  readonly container: ContainerClient;
}

/**
 * Starts Azurite for a describe block (skipping it, with the reason, where Azurite cannot run) and
 * gives it a fresh container, deleted afterwards with everything in it.
 */
export function useAzurite(): AzuriteFixture {
  let instance: AzuriteInstance | undefined;
  let container: ContainerClient | undefined;
  const containerName = `stowage-unit-${randomBytes(5).toString('hex')}`;

  before(async function () {
    instance = await requireService(this, 'Azurite', () => startAzurite());
    const service = new BlobServiceClient(instance.serviceUrl, new StorageSharedKeyCredential(instance.accountName, instance.accountKey));
    container = service.getContainerClient(containerName);
    await container.create();
  });

  after(async () => {
    if (!instance) return;
    await container?.deleteIfExists();
    await stopAzurite();
  });

  const fixture: AzuriteFixture = {
    get instance() {
      if (!instance) throw new Error('Azurite is not running');
      return instance;
    },
    get container() {
      if (!container) throw new Error('Azurite is not running');
      return container;
    },
    options(extra = {}) {
      const running = fixture.instance;
      return {
        serviceUrl: running.serviceUrl,
        accountName: running.accountName,
        accountKey: running.accountKey,
        container: containerName,
        rootDirectory: `/unit-${randomBytes(4).toString('hex')}/`,
        ...extra,
      };
    },
    driver(extra = {}) {
      return new AzureDriver(fixture.options(extra));
    },
  };
  return fixture;
}

/** The uncommitted and committed block ids of a blob, straight from Azure. */
export async function blocksOf(container: ContainerClient, blobName: string): Promise<{ committed: string[]; uncommitted: string[] }> {
  const list = await container.getBlockBlobClient(blobName).getBlockList('all');
  return {
    committed: (list.committedBlocks ?? []).map((b) => b.name),
    uncommitted: (list.uncommittedBlocks ?? []).map((b) => b.name),
  };
}

/** Names of the committed blobs below a prefix, as a plain listing shows them. */
export async function listedNames(container: ContainerClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of container.listBlobsFlat({ prefix })) names.push(item.name);
  return names;
}
