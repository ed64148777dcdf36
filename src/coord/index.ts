export * from './coord.js';
export { RedisCoord, redactUrl, type RedisCoordOptions } from './redis.js';
