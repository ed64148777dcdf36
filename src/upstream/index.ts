export * from './errors.js';
export * from './http.js';
export * from './endpoint.js';
export * from './proxylist.js';
export * from './hedge.js';
export * from './singleflight.js';
export * from './mirrors.js';
