export { SwiftDriver } from './driver';
export { swiftDriverFactory } from './factory';
export { SwiftHttpError } from './http/errors';
export { tempUrl, tempUrlDigest, type TempUrlDigest } from './tempurl';
export { SwiftLayout } from './layout';
export { guessAuthVersion } from './auth/identity';
export * from './options';
