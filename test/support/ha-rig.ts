// The back ends of the several-node end-to-end tests: a real MinIO with one
// bucket and a real redis-server, the AWS environment pointing at that
// MinIO, and temporary folders. useHaBackends, called in a describe block,
// starts them before the block's tests and stops them after (its afterAll
// runs after those the test registers later, which stop the nodes).
import { afterAll, beforeAll } from 'vitest';
import { findComponent } from './components.js';
import { removeDir, spawnGodepot, tempDir, type ChildGodepot } from './godepot.js';
import { startMinio, useAwsEnv, type RunningMinio } from './minio.js';
import { startRedis, type RunningRedis } from './redis.js';
import { findGo } from '../world/index.js';

const minioBinary = findComponent('minio');
const redisBinary = findComponent('redis-server');

/** True when MinIO, redis-server or go is missing here (the tests are skipped; under CI=true findComponent fails first). */
export const haMissing = minioBinary === null || redisBinary === null || findGo() === null;

export interface HaBackends {
  readonly minio: RunningMinio;
  readonly redis: RunningRedis;
  /** A temporary folder, removed after the block's tests. */
  dir(prefix?: string): Promise<string>;
  /**
   * Node `name` as the real CLI in a child process, with these flags (--name value), its own --data, and extra;
   * one worker unless `defaultWorkers` (then no --workers flag: one worker per core, as operators run it).
   */
  spawnNode(
    flags: Readonly<Record<string, string>>,
    name: string,
    extra?: readonly string[],
    opts?: { defaultWorkers?: boolean },
  ): Promise<ChildGodepot>;
}

export function useHaBackends(bucket: string): HaBackends {
  let minio: RunningMinio | undefined;
  let redis: RunningRedis | undefined;
  let restoreEnv: (() => void) | undefined;
  const dirs: string[] = [];
  const dir = async (prefix?: string): Promise<string> => {
    const d = await tempDir(prefix);
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    minio = await startMinio(minioBinary as string);
    restoreEnv = useAwsEnv(minio.env);
    await minio.makeBucket(bucket);
    redis = await startRedis(redisBinary as string);
  }, 120_000);
  afterAll(async () => {
    await redis?.stop();
    await minio?.stop();
    restoreEnv?.();
    for (const d of dirs) await removeDir(d);
  });
  const started = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not started (use it from a beforeAll or a test)`);
    return v;
  };
  return {
    get minio() {
      return started(minio, 'MinIO');
    },
    get redis() {
      return started(redis, 'redis-server');
    },
    dir,
    async spawnNode(flags, name, extra = [], opts = {}) {
      return spawnGodepot(
        [
          ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]),
          ...['--node-name', name, '--data', await dir()],
          ...extra,
        ],
        { ...started(minio, 'MinIO').env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        opts,
      );
    },
  };
}
