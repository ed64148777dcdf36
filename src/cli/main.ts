// `godepot <command>`: the command-line entry point.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';

const USAGE = `godepot — a verifying Go module proxy and checksum-database mirror

Usage:
  godepot serve [flags]        run the server (see 'godepot serve --help')
  godepot incidents [--data DIR] [--json]
                               print the upstream outage log
  godepot doctor [--goproxy LIST] [--gosumdb SPEC] [--json]
                               is it the network or the config? checks a Go client's path to its proxies and database
  godepot warm [flags] go.sum|go.mod|list|folder|module@version...
                               fill the cache before it is needed (verified, same path as serving)
  godepot export [flags] DIR --from go.sum...
                               write modules + checksum records/tiles to DIR (GOPROXY layout) for an air gap
  godepot import [flags] DIR   fill the cache from a Go module cache or an exported folder, keeping what verifies
  godepot ci-env --proxy URL [--fallback none|proxy.golang.org|direct] [--format shell|github|gitlab]
                               the Go settings a CI job needs to build through godepot
  godepot private ls|verify [--data DIR]
                               the private checksum ledger; verify re-fetches each version and exits 1 if one changed
  godepot auth add NAME --modules PATTERNS [--auth FILE]
                               add a user of the --auth file; prints its new token once
  godepot --version            the version
  godepot help                 this text

Point Go at it:  GOPROXY=http://HOST:PORT  (keep GOSUMDB on)
`;

type Command = (args: string[]) => Promise<number>;

/** The version in package.json (two folders up from src/cli and from dist/cli). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

// Each command's module is loaded only when it runs: `serve` never pays the
// memory of warm/import/export/doctor code (a few MB of RSS per process).
const COMMANDS: Record<string, Command> = {
  serve: async (args) => (await import('./serve.js')).serveCommand(args),
  incidents: async (args) => (await import('./incidents.js')).incidentsCommand(args),
  doctor: async (args) => (await import('./doctor/index.js')).doctorCommand(args),
  warm: async (args) => (await import('./warm.js')).warmCommand(args),
  import: async (args) => (await import('./import.js')).importCommand(args),
  export: async (args) => (await import('./export.js')).exportCommand(args),
  'ci-env': async (args) => (await import('./ci-env.js')).ciEnvCommand(args),
  private: async (args) => (await import('./private.js')).privateCommand(args),
  auth: async (args) => (await import('./auth.js')).authCommand(args),
};

/** Runs a command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === 'version') {
    process.stdout.write(`godepot ${version()}\n`);
    return 0;
  }
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    process.stderr.write(`godepot: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`godepot ${cmd}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
