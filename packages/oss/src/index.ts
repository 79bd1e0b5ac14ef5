export { OssDriver } from './driver';
export { ossDriverFactory } from './factory';
export * from './options';
