/**
 * `stowage-registry serve CONFIG.yml`: runs the registry until SIGINT or SIGTERM, then closes it
 * gracefully (requests in flight finish) and exits.
 */
import { ConfigError, loadConfig } from './config';
import { startRegistry } from './server';

const USAGE = 'usage: stowage-registry serve CONFIG.yml';

async function main(argv: string[]): Promise<number> {
  const [command, configPath, ...rest] = argv;
  if (command !== 'serve' || !configPath || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const registry = await startRegistry(await loadConfig(configPath));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await registry.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? `stowage-registry: ${err.message}` : err);
    process.exit(1);
  },
);
