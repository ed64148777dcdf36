// Where the doctor reads a Go client's settings: `go env -json` when a go
// command is on PATH (it also sees go.env and the GOENV file), else the
// environment with the go command's defaults.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { GO_VARS, type GoConfig } from './config-check.js';

/** The go command's defaults (from $GOROOT/go.env and cmd/go/internal/cfg). */
export function configFromEnv(env: NodeJS.ProcessEnv): GoConfig {
  const get = (k: string): string => env[k] ?? '';
  const goprivate = get('GOPRIVATE');
  return {
    GOPROXY: get('GOPROXY') || 'https://proxy.golang.org,direct',
    GOSUMDB: get('GOSUMDB') || 'sum.golang.org',
    GONOSUMDB: get('GONOSUMDB') || goprivate,
    GONOPROXY: get('GONOPROXY') || goprivate,
    GOPRIVATE: goprivate,
    GOFLAGS: get('GOFLAGS'),
    GOINSECURE: get('GOINSECURE'),
    GOAUTH: get('GOAUTH') || 'netrc',
  };
}

function findGoBinary(env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const f = join(dir, 'go');
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return null;
}

/** Runs `go env -json VARS…` with env; null when it fails. */
function goEnvJson(go: string, env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    execFile(
      go,
      ['env', '-json', ...GO_VARS, 'GOVERSION'],
      { env, timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout) => {
        if (err) return resolve(null);
        try {
          const j = JSON.parse(stdout) as Record<string, unknown>;
          resolve(Object.fromEntries(Object.entries(j).map(([k, v]) => [k, typeof v === 'string' ? v : ''])));
        } catch {
          resolve(null);
        }
      },
    );
  });
}

export interface ReadConfig {
  readonly config: GoConfig;
  /** Where the settings came from, for the report. */
  readonly source: string;
}

export interface ReadOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Read `go env` when go is on PATH (default true). */
  readonly useGo?: boolean;
  /** Values given as flags (--goproxy, --gosumdb), applied last. */
  readonly overrides?: Partial<GoConfig>;
}

export async function readGoConfig(opts: ReadOptions): Promise<ReadConfig> {
  let config = configFromEnv(opts.env);
  let source = 'the environment (go command not found; Go defaults applied)';
  const go = opts.useGo === false ? null : findGoBinary(opts.env);
  if (opts.useGo === false) source = 'the environment (Go defaults applied)';
  if (go) {
    const j = await goEnvJson(go, opts.env);
    if (j) {
      config = Object.fromEntries(GO_VARS.map((k) => [k, j[k] ?? ''])) as GoConfig;
      source = `go env (${j.GOVERSION || go})`;
    } else source = `the environment ('${go} env' failed; Go defaults applied)`;
  }
  const o = opts.overrides ?? {};
  const given = Object.entries(o).filter(([, v]) => v !== undefined);
  if (given.length > 0) {
    config = { ...config, ...Object.fromEntries(given) };
    source += `, with ${given.map(([k]) => k).join(', ')} from flags`;
  }
  return { config, source };
}
