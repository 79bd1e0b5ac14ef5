/** What any auth method yields: a token, the object-store URL to use it on, and when it expires. */
export interface Credentials {
  token: string;
  /** e.g. https://swift.example.com/v1/AUTH_tenant (no trailing slash). */
  storageUrl: string;
  /** Epoch milliseconds; undefined when the server does not say (v1). */
  expiresAt?: number;
}

/** One round trip to the identity service. */
export type Authenticate = (signal?: AbortSignal) => Promise<Credentials>;
