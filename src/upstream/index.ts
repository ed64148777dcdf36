export * from './errors.js';
export * from './http.js';
export * from './endpoint.js';
export * from './proxylist.js';
export * from './hedge.js';
export * from './mirrors.js';
export type * from './types.js';
export * from './reachability.js';
export * from './credentials.js';
