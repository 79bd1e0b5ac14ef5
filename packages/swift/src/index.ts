export { SwiftDriver } from './driver';
export { swiftDriverFactory } from './factory';
export { SwiftHttpError } from './http/errors';
export { tempUrl, tempUrlDigest, type TempUrlDigest, type TempUrlInput } from './tempurl';
export { SwiftLayout, type ParsedSegmentName } from './layout';
export * from './options';
