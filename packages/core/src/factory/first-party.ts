/**
 * The drivers this project publishes: the name each registers under and the package that registers
 * it when loaded. Tools that load drivers on demand (the example registry, the CLI) look packages up
 * here, so a new first-party driver is added in one place. Core never loads them itself: a package
 * must be resolved from the app that installed it, not from wherever core happens to sit.
 */
const FIRST_PARTY_DRIVER_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  filesystem: '@stowage/filesystem',
  inmemory: '@stowage/inmemory',
  s3: '@stowage/s3',
  's3-aws': '@stowage/s3',
  azure: '@stowage/azure',
  oss: '@stowage/oss',
  swift: '@stowage/swift',
});

/** The package that registers the first-party driver `name`, or undefined for any other name. */
export function firstPartyDriverPackage(name: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(FIRST_PARTY_DRIVER_PACKAGES, name) ? FIRST_PARTY_DRIVER_PACKAGES[name] : undefined;
}

/** Every first-party driver name with its package, in a stable order. */
export function firstPartyDrivers(): Array<{ name: string; packageName: string }> {
  return Object.entries(FIRST_PARTY_DRIVER_PACKAGES).map(([name, packageName]) => ({ name, packageName }));
}
