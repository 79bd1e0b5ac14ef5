/**
 * Keeps credentials out of what a driver shows of itself (util.inspect, JSON.stringify, logs that
 * print a driver or its options). Names are matched, not values: a parameter called like a secret
 * is replaced whatever it holds, and values are never echoed in part.
 */

/** Parameter and option names whose values are credentials, in any of the drivers' spellings. */
const SECRET_NAME =
  /secret|password|passwd|token|credential|signature|connectionstring|sas|privatekey|(?:^|access|account|container|api|storage|shared|tempurl)key$/i;

const REDACTED = '[redacted]';

/** True when a parameter or option called `name` holds a credential. */
function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** REDACTED for a secret-named value that holds something (flags such as `tempurlcontainerkey: true` stay). */
export function redactEntry(name: string, value: unknown, depth = 4): unknown {
  const holdsSecret = isSecretName(name) && value !== undefined && value !== null && typeof value !== 'boolean';
  return holdsSecret ? REDACTED : redactSecrets(value, depth);
}

/**
 * A copy of `value` for display: secret-named entries become REDACTED at any depth; objects that are
 * not plain data (clients, agents, streams, functions) become `[ClassName]`, so nothing a client
 * holds (signing keys, token caches) is walked into.
 */
function redactSecrets(value: unknown, depth = 4): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' ? `[Function ${value.name || 'anonymous'}]` : value;
  }
  if (depth === 0) return '[...]';
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth - 1));
  if (value instanceof Date) return value;
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype !== Object.prototype && prototype !== null) return `[${value.constructor?.name ?? 'Object'}]`;
  const copy: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) {
    copy[name] = redactEntry(name, item, depth - 1);
  }
  return copy;
}
