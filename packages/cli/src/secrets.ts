/**
 * Credentials never reach the output: every line the CLI prints passes through a Redactor that
 * replaces the values of secret-looking driver parameters with `***`.
 */

/** Parameter names whose values are credentials (accesskey, secretkey, accountkey, password, sessiontoken, ...). */
const SECRET_NAME = /key|secret|password|passwd|token|credential|signature|sas/i;
/** Names that match the pattern above but hold no secret. */
const NOT_SECRET = new Set(['keyid', 'storagekey']);
/** Shorter values would redact ordinary words and digits. */
const MIN_SECRET_LENGTH = 4;

export type Redactor = (text: string) => string;

function isSecretParameter(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET.has(name.toLowerCase());
}

/** The secret values among `parameters`, nested objects included. */
export function secretValues(parameters: Record<string, unknown>): string[] {
  const found: string[] = [];
  const visit = (value: unknown, secret: boolean) => {
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) visit(inner, secret || isSecretParameter(key));
    } else if (secret && (typeof value === 'string' || typeof value === 'number') && String(value).length >= MIN_SECRET_LENGTH) {
      found.push(String(value));
    }
  };
  visit(parameters, false);
  return found;
}

/** A Redactor for these secrets (longest first, so a secret containing another is hidden whole). */
export function createRedactor(secrets: readonly string[]): Redactor {
  const ordered = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => ordered.reduce((out, secret) => out.split(secret).join('***'), text);
}
