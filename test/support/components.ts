// Real components the tests start (DESIGN.md, Tests): MinIO, redis-server,
// chromium, git, nginx. Under CI=true a missing one throws, so the run fails loudly;
// elsewhere the caller skips with a message that says how to get it.
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export type ComponentName = 'minio' | 'redis-server' | 'chromium' | 'git' | 'nginx';

const HOW: Record<ComponentName, string> = {
  minio:
    'GOBIN=~/.cache/godepot-test/bin go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c ' +
    '(about 9 minutes once; or set GODEPOT_MINIO to a minio binary)',
  'redis-server': 'apt-get install -y redis-server (or set GODEPOT_REDIS_SERVER)',
  chromium: 'apt-get install -y chromium (or set GODEPOT_CHROMIUM)',
  git: 'apt-get install -y git',
  nginx: 'apt-get install -y nginx (or set GODEPOT_NGINX)',
};

const ENV: Record<ComponentName, string> = {
  minio: 'GODEPOT_MINIO',
  'redis-server': 'GODEPOT_REDIS_SERVER',
  chromium: 'GODEPOT_CHROMIUM',
  git: 'GODEPOT_GIT',
  nginx: 'GODEPOT_NGINX',
};

export class ComponentMissingError extends Error {
  constructor(readonly component: ComponentName) {
    super(`${component} is required by these tests under CI=true but was not found; get it with: ${HOW[component]}`);
    this.name = 'ComponentMissingError';
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The test cache folder outside the repository (.ci/run fills it). */
export function testCacheDir(): string {
  return process.env.GODEPOT_TEST_CACHE ?? join(homedir(), '.cache', 'godepot-test');
}

const cache = new Map<ComponentName, string | null>();

/**
 * The component's executable, or null when it is missing outside CI (print
 * `componentHint(name)` and skip). Throws ComponentMissingError under CI=true.
 */
export function findComponent(name: ComponentName): string | null {
  if (!cache.has(name)) {
    const candidates = [process.env[ENV[name]] ?? ''];
    for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir !== '') candidates.push(join(dir, name));
    if (name === 'minio') candidates.push(join(testCacheDir(), 'bin', 'minio'));
    // Debian puts nginx in /usr/sbin, which a non-root PATH often leaves out.
    if (name === 'nginx') candidates.push('/usr/sbin/nginx');
    const found = candidates.find((c) => c !== '' && executable(c)) ?? null;
    cache.set(name, found);
    if (found === null && process.env.CI !== 'true') {
      process.stderr.write(`\nSKIPPING tests that need ${name}: not found. Get it with: ${HOW[name]}\n\n`);
    }
  }
  const found = cache.get(name) ?? null;
  if (found === null && process.env.CI === 'true') throw new ComponentMissingError(name);
  return found;
}

export function componentHint(name: ComponentName): string {
  return HOW[name];
}
