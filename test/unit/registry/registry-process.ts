/** The registry as its own process, started the way a user starts it: `stowage-registry serve CONFIG.yml`. */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { launchRegistryServer, type RegistryServer } from '../../services/registry-server';

/** The package's bin, as npm links it. */
const CLI = join(dirname(require.resolve('@stowage/example-registry/package.json')), 'bin', 'stowage-registry.js');

export type RegistryProcess = RegistryServer;

/** Writes a config.yml for a filesystem registry on 127.0.0.1 and a free port, logging at info. */
export async function writeFilesystemConfig(path: string, rootdirectory: string): Promise<string> {
  const yaml = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(rootdirectory)}`,
    'http:',
    '  addr: 127.0.0.1:0',
    '',
  ].join('\n');
  await writeFile(path, yaml);
  return path;
}

/** Starts `stowage-registry serve CONFIG` and resolves once it answers on the URL it logs. */
export function startRegistryProcess(configPath: string): Promise<RegistryProcess> {
  return launchRegistryServer({
    name: 'the registry',
    command: process.execPath,
    args: [CLI, 'serve', configPath],
    listen: { urlPattern: /listening url=(\S+)/ },
  });
}
