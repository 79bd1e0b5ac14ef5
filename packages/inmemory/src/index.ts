export { InMemoryDriver, DRIVER_NAME, type InMemoryDriverOptions } from './driver';
export { MemoryStore } from './store';
