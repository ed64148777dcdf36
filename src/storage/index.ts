export * from './storage.js';
export { FsStorage, type FsStorageOptions } from './fs.js';
export { MemoryStorage, bufferBlob } from './memory.js';
