/**
 * The distribution-spec error codes and the one error type every handler throws to answer a
 * request with one of them. The server turns a RegistryError into the spec's JSON error body;
 * anything else becomes a 500 whose details stay in the log.
 */

/** The error codes of the OCI distribution-spec v1.1 (code-1 .. code-14). */
export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

/** An error answered with `status` and the spec's body `{"errors":[{code, message, detail}]}`. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly detail?: unknown,
    /** Extra response headers, e.g. WWW-Authenticate on a 401 or Range on a 416. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'RegistryError';
  }

  /** The JSON body the spec prescribes. */
  toJSON(): { errors: Array<{ code: ErrorCode; message: string; detail?: unknown }> } {
    return { errors: [{ code: this.code, message: this.message, ...(this.detail === undefined ? {} : { detail: this.detail }) }] };
  }
}

export const blobUnknown = (digest: string) => new RegistryError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest });
export const uploadUnknown = () => new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
export const manifestUnknown = (reference: string) => new RegistryError(404, 'MANIFEST_UNKNOWN', 'manifest unknown to registry', { reference });
export const nameUnknown = (name: string) => new RegistryError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
export const digestInvalid = (message: string, detail?: unknown) => new RegistryError(400, 'DIGEST_INVALID', message, detail);
export const manifestInvalid = (message: string) => new RegistryError(400, 'MANIFEST_INVALID', message);
export const deleteDisabled = () => new RegistryError(405, 'UNSUPPORTED', 'deletion is disabled (storage.delete.enabled is false)');

/** The client went away while its request body was streaming in; there is no one to answer. */
export class ClientGoneError extends Error {
  constructor(cause: unknown) {
    super('the client disconnected before the request body ended', { cause });
    this.name = 'ClientGoneError';
  }
}
