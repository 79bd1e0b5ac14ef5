/** Percent-encoding as OSS's signatures and encoding-type=url responses use it (RFC 3986 unreserved kept). */

export function uriEncode(text: string, keepSlash = false): string {
  const encoded = encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

/** decodeURIComponent that leaves malformed escapes as they are instead of throwing. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

export interface QueryParam {
  key: string;
  value: string;
}

/** Splits a raw query string into decoded parameters, in order; '+' means a space as in forms. */
export function parseQuery(raw: string): QueryParam[] {
  const params: QueryParam[] = [];
  for (const piece of raw.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const rawKey = eq < 0 ? piece : piece.slice(0, eq);
    const rawValue = eq < 0 ? '' : piece.slice(eq + 1);
    params.push({ key: safeDecode(rawKey.replace(/\+/g, ' ')), value: safeDecode(rawValue.replace(/\+/g, ' ')) });
  }
  return params;
}
