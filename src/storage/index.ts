export * from './storage.js';
export { FsStorage, isDataFolder, openLocalFile, type FsStorageOptions } from './fs.js';
export { MemoryStorage, bufferBlob } from './memory.js';
export { S3Storage, type S3StorageOptions } from './s3.js';
