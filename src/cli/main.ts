// `godepot <command>`: the command-line entry point.
import { ConfigError } from '../config/load.js';
import { serveCommand } from './serve.js';
import { incidentsCommand } from './incidents.js';

const USAGE = `godepot — a verifying Go module proxy and checksum-database mirror

Usage:
  godepot serve [flags]        run the server (see 'godepot serve --help')
  godepot incidents [--data DIR] [--json]
                               print the upstream outage log
  godepot help                 this text

Point Go at it:  GOPROXY=http://HOST:PORT  (keep GOSUMDB on)
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  incidents: incidentsCommand,
};

/** Runs a command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
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

export function registerCommand(name: string, run: Command): void {
  COMMANDS[name] = run;
}
