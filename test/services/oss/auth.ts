/**
 * Authenticates a request the four ways OSS accepts: V1 or V4 in the Authorization header, V1 or V4 in the
 * query string (signed URLs). Checks the AccessKeyId, the STS token, the clock and the URL's expiry, then the
 * signature; every failure is the OssError OSS would answer.
 */
import { OssError, accessDenied, invalidAccessKeyId, invalidArgument } from './errors';
import { parseV1Authorization, signV1, stringToSignV1 } from './auth-v1';
import {
  V4_ALGORITHM,
  V4_TERMINATOR,
  UNSIGNED_PAYLOAD,
  canonicalRequestV4,
  parseCredential,
  parseIsoBasic,
  parseV4Authorization,
  scopeV4,
  signV4,
  signingKeyV4,
  stringToSignV4,
} from './auth-v4';
import type { RequestContext } from './request';
import type { XmlNode } from './xml';

interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** When set, the key pair is an STS one: every request must carry this token. */
  securityToken?: string;
}

export interface AuthOptions {
  credentials: Credentials;
  /** Standard region as V4 scopes carry it, e.g. cn-hangzhou. */
  region: string;
  now: () => Date;
  /** Reject requests whose time is more than 15 minutes off (RequestTimeTooSkewed). */
  checkClockSkew: boolean;
}

export type AuthMethod = 'v1-header' | 'v4-header' | 'v1-url' | 'v4-url';

const MAX_SKEW_MS = 15 * 60 * 1000;
/** The longest validity a V4 signed URL may ask for: 7 days. */
const MAX_V4_URL_EXPIRES_S = 7 * 24 * 3600;

function bytesOf(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function signatureMismatch(accessKeyId: string, provided: string, stringToSign: string, canonicalRequest?: string): OssError {
  const details: XmlNode[] = [
    ['OSSAccessKeyId', accessKeyId],
    ['SignatureProvided', provided],
    ['StringToSign', stringToSign],
    ['StringToSignBytes', bytesOf(stringToSign)],
  ];
  if (canonicalRequest !== undefined) {
    details.push(['CanonicalRequest', canonicalRequest], ['CanonicalRequestBytes', bytesOf(canonicalRequest)]);
  }
  return new OssError(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    details,
  );
}

function tooSkewed(requestTime: Date, now: Date): OssError {
  return new OssError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', [
    ['RequestTime', requestTime.toISOString()],
    ['ServerTime', now.toISOString()],
    ['MaxAllowedSkewMilliseconds', MAX_SKEW_MS],
  ]);
}

function expired(expiry: Date, now: Date): OssError {
  return new OssError(403, 'AccessDenied', 'Request has expired.', [
    ['Expires', expiry.toISOString()],
    ['ServerTime', now.toISOString()],
  ]);
}

function checkSkew(requestTime: Date, options: AuthOptions): void {
  if (!options.checkClockSkew) return;
  const now = options.now();
  if (Math.abs(now.getTime() - requestTime.getTime()) > MAX_SKEW_MS) throw tooSkewed(requestTime, now);
}

function checkAccessKey(accessKeyId: string, options: AuthOptions): void {
  if (accessKeyId !== options.credentials.accessKeyId) throw invalidAccessKeyId(accessKeyId);
}

function checkSecurityToken(token: string | undefined, options: AuthOptions): void {
  const expected = options.credentials.securityToken;
  if (expected === undefined && token === undefined) return;
  if (token !== expected) {
    throw new OssError(403, 'InvalidSecurityToken', 'The security token you provided is invalid.', [['SecurityToken', token ?? '']]);
  }
}

/** Throws the OssError OSS would answer, or returns how the request was authenticated. */
export function authenticate(ctx: RequestContext, options: AuthOptions): AuthMethod {
  const authorization = ctx.header('authorization');
  if (authorization !== undefined) {
    if (authorization.startsWith(`${V4_ALGORITHM} `)) return verifyV4Header(ctx, authorization, options);
    if (authorization.startsWith('OSS ')) return verifyV1Header(ctx, authorization, options);
    throw invalidArgument('Authorization header is invalid.', 'Authorization', authorization);
  }
  if (ctx.has('x-oss-signature-version')) return verifyV4Url(ctx, options);
  if (ctx.has('OSSAccessKeyId') || ctx.has('Signature')) return verifyV1Url(ctx, options);
  throw accessDenied('You have no right to access this object because of bucket acl.');
}

function verifyV1Header(ctx: RequestContext, authorization: string, options: AuthOptions): AuthMethod {
  const parsed = parseV1Authorization(authorization);
  if (!parsed) throw invalidArgument('Authorization header is invalid.', 'Authorization', authorization);
  checkAccessKey(parsed.accessKeyId, options);
  checkSecurityToken(ctx.header('x-oss-security-token'), options);
  // ali-oss sends no Date header: x-oss-date carries the time (and fills the Date line of the signature).
  const date = ctx.header('date') ?? ctx.header('x-oss-date');
  const time = date === undefined ? NaN : Date.parse(date);
  if (date === undefined || Number.isNaN(time)) throw accessDenied('OSS authentication requires a valid Date.');
  checkSkew(new Date(time), options);
  const stringToSign = stringToSignV1({
    method: ctx.method,
    headers: ctx.headers,
    date,
    bucket: ctx.bucketName,
    key: ctx.key,
    query: ctx.query,
  });
  if (signV1(options.credentials.accessKeySecret, stringToSign) !== parsed.signature) {
    throw signatureMismatch(parsed.accessKeyId, parsed.signature, stringToSign);
  }
  return 'v1-header';
}

function verifyV1Url(ctx: RequestContext, options: AuthOptions): AuthMethod {
  const accessKeyId = ctx.param('OSSAccessKeyId');
  const expires = ctx.param('Expires');
  const signature = ctx.param('Signature');
  if (!accessKeyId || !expires || !signature) {
    throw accessDenied('Signed URLs need OSSAccessKeyId, Expires and Signature.');
  }
  checkAccessKey(accessKeyId, options);
  checkSecurityToken(ctx.param('security-token'), options);
  if (!/^\d+$/.test(expires)) throw accessDenied('Expires should be a number of seconds since the epoch.');
  const expiry = new Date(Number(expires) * 1000);
  const now = options.now();
  if (now.getTime() > expiry.getTime()) throw expired(expiry, now);
  const stringToSign = stringToSignV1({
    method: ctx.method,
    headers: ctx.headers,
    date: expires,
    bucket: ctx.bucketName,
    key: ctx.key,
    query: ctx.query,
  });
  if (signV1(options.credentials.accessKeySecret, stringToSign) !== signature) {
    throw signatureMismatch(accessKeyId, signature, stringToSign);
  }
  return 'v1-url';
}

/** Checks a V4 credential scope against the request's date and the server's region. */
function checkScope(credential: string, datetime: string, options: AuthOptions) {
  const scope = parseCredential(credential);
  if (!scope) throw invalidArgument('Invalid credential in Authorization.', 'Credential', credential);
  checkAccessKey(scope.accessKeyId, options);
  if (scope.terminator !== V4_TERMINATOR) throw invalidArgument(`Credential must end with ${V4_TERMINATOR}.`, 'Credential', credential);
  if (scope.product !== 'oss') throw invalidArgument(`Invalid signing product "${scope.product}".`, 'Credential', credential);
  if (scope.date !== datetime.slice(0, 8)) throw invalidArgument('Invalid signing date in Authorization.', 'Credential', credential);
  if (scope.region !== options.region) {
    throw invalidArgument(`Invalid signing region "${scope.region}", expected "${options.region}".`, 'Credential', credential);
  }
  return scope;
}

function verifyV4Header(ctx: RequestContext, authorization: string, options: AuthOptions): AuthMethod {
  const parsed = parseV4Authorization(authorization);
  if (!parsed) throw invalidArgument('Authorization header is invalid.', 'Authorization', authorization);
  const datetime = ctx.header('x-oss-date');
  const time = datetime === undefined ? undefined : parseIsoBasic(datetime);
  if (datetime === undefined || time === undefined) throw accessDenied('V4 signatures need x-oss-date in ISO 8601 basic format.');
  const scope = checkScope(parsed.credential, datetime, options);
  checkSecurityToken(ctx.header('x-oss-security-token'), options);
  checkSkew(time, options);
  const payload = ctx.header('x-oss-content-sha256');
  if (payload === undefined) throw invalidArgument('Missing required header for this request: x-oss-content-sha256.');
  if (payload !== UNSIGNED_PAYLOAD) throw invalidArgument(`x-oss-content-sha256 must be ${UNSIGNED_PAYLOAD}.`, 'x-oss-content-sha256', payload);
  for (const name of parsed.additionalHeaders) {
    if (name !== name.toLowerCase() || ctx.headers[name] === undefined) {
      throw invalidArgument(`Additional header "${name}" is not lowercase or not in the request.`, 'AdditionalHeaders', name);
    }
  }
  const canonicalRequest = canonicalRequestV4({
    method: ctx.method,
    bucket: ctx.bucketName,
    key: ctx.key,
    query: ctx.query,
    headers: ctx.headers,
    additionalHeaders: parsed.additionalHeaders,
  });
  const stringToSign = stringToSignV4(datetime, scopeV4(scope.date, scope.region), canonicalRequest);
  const expected = signV4(signingKeyV4(options.credentials.accessKeySecret, scope.date, scope.region), stringToSign);
  if (expected !== parsed.signature) throw signatureMismatch(scope.accessKeyId, parsed.signature, stringToSign, canonicalRequest);
  return 'v4-header';
}

function verifyV4Url(ctx: RequestContext, options: AuthOptions): AuthMethod {
  const version = ctx.param('x-oss-signature-version');
  if (version !== V4_ALGORITHM) throw invalidArgument(`Unsupported signature version "${version}".`, 'x-oss-signature-version', version);
  const credential = ctx.param('x-oss-credential');
  const datetime = ctx.param('x-oss-date');
  const expires = ctx.param('x-oss-expires');
  const signature = ctx.param('x-oss-signature');
  if (!credential || !datetime || !expires || !signature) {
    throw accessDenied('V4 signed URLs need x-oss-credential, x-oss-date, x-oss-expires and x-oss-signature.');
  }
  const time = parseIsoBasic(datetime);
  if (!time) throw invalidArgument('x-oss-date must be in ISO 8601 basic format.', 'x-oss-date', datetime);
  const scope = checkScope(credential, datetime, options);
  checkSecurityToken(ctx.param('x-oss-security-token'), options);
  if (!/^\d+$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_V4_URL_EXPIRES_S) {
    throw invalidArgument(`x-oss-expires must be between 1 and ${MAX_V4_URL_EXPIRES_S} seconds.`, 'x-oss-expires', expires);
  }
  const now = options.now();
  if (options.checkClockSkew && time.getTime() - now.getTime() > MAX_SKEW_MS) throw tooSkewed(time, now);
  const expiry = new Date(time.getTime() + Number(expires) * 1000);
  if (now.getTime() > expiry.getTime()) throw expired(expiry, now);
  const additionalParam = ctx.param('x-oss-additional-headers');
  const additionalHeaders = additionalParam ? additionalParam.split(';') : [];
  for (const name of additionalHeaders) {
    if (name === '' || ctx.headers[name] === undefined) {
      throw invalidArgument(`Additional header "${name}" is not in the request.`, 'x-oss-additional-headers', additionalParam);
    }
  }
  const canonicalRequest = canonicalRequestV4({
    method: ctx.method,
    bucket: ctx.bucketName,
    key: ctx.key,
    query: ctx.query,
    omitQueryParam: 'x-oss-signature',
    headers: ctx.headers,
    additionalHeaders,
  });
  const stringToSign = stringToSignV4(datetime, scopeV4(scope.date, scope.region), canonicalRequest);
  const expected = signV4(signingKeyV4(options.credentials.accessKeySecret, scope.date, scope.region), stringToSign);
  if (expected !== signature) throw signatureMismatch(scope.accessKeyId, signature, stringToSign, canonicalRequest);
  return 'v4-url';
}
