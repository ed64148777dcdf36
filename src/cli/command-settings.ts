// Settings for commands that act on a godepot data folder (warm, import,
// export): the same flags, GODEPOT_* variables and --config file as `serve`,
// so they use the same data folder, upstreams and databases, plus the
// command's own flags and positional arguments.
import type { Logger } from 'pino';
import { buildSettings, ConfigError, layeredValues, parseFlags, type ParsedArgs } from '../config/load.js';
import { unknownGodepotVariables } from '../config/go-env.js';
import { envName, OPTIONS, type OptionSpec } from '../config/options.js';
import type { Settings } from '../config/settings.js';
import { makeLogger, makeTextLogger } from '../runtime/logging.js';
import type { ProgressWriter } from './progress.js';

/** Where a command writes and what environment it reads (tests pass their own). */
export interface CommandIO {
  readonly out: (s: string) => void;
  /** Progress goes here (a bar when it is a terminal). */
  readonly err: ProgressWriter;
  readonly env: NodeJS.ProcessEnv;
}

export const PROCESS_IO: CommandIO = { out: (s) => process.stdout.write(s), err: process.stderr, env: process.env };

export interface CommandSettings {
  readonly settings: Settings;
  readonly flags: ParsedArgs;
  /** Value of one of the command's own flags (last occurrence), or its default. */
  flag(name: string): string;
  /** Every occurrence of a list flag. */
  flagList(name: string): string[];
}

export function loadCommandSettings(
  command: string,
  args: readonly string[],
  extra: readonly OptionSpec[],
  env: NodeJS.ProcessEnv = process.env,
): CommandSettings {
  const flags = parseFlags(args, command, [...OPTIONS, ...extra]);
  const raw = layeredValues(flags, env);
  // Commands print their own report; the server's info lines would drown it.
  raw.values['log-level'] ??= 'warn';
  // Each artifact is read once: a memory cache would only hold copies.
  const settings = { ...buildSettings(raw), memoryCache: 0 };
  const spec = (name: string): OptionSpec => {
    const s = extra.find((o) => o.name === name);
    if (!s) throw new Error(`internal: no flag ${name}`);
    return s;
  };
  return {
    settings,
    flags,
    flag(name) {
      const s = spec(name);
      const v = flags.values.get(name);
      return v?.[v.length - 1] ?? (typeof s.default === 'string' ? s.default : (s.default[0] ?? ''));
    },
    flagList(name) {
      const s = spec(name);
      return (
        flags.values.get(name) ??
        (typeof s.default === 'string' ? (s.default === '' ? [] : [s.default]) : [...s.default])
      );
    },
  };
}

/** A whole number flag in [min, max]. */
export function intFlag(cs: CommandSettings, name: string, min: number, max: number): number {
  const s = cs.flag(name);
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < min || n > max)
    throw new ConfigError(`invalid --${name} ${JSON.stringify(s)}: want a whole number from ${min} to ${max}`);
  return n;
}

/**
 * Logs of a command go to stderr, so stdout holds only its report: plain
 * lines ("godepot warm: warning: …"), or JSON lines with --log-format json.
 */
export function commandLogger(settings: Settings, io: CommandIO = PROCESS_IO, command = 'godepot'): Logger {
  const log =
    settings.logFormat === 'json'
      ? makeLogger(settings, 2)
      : makeTextLogger(settings, (s) => void io.err.write(s), command);
  // As serve does: these commands read the same GODEPOT_* variables, and a mistyped one would be ignored unsaid.
  for (const w of unknownGodepotVariables(io.env)) log.warn(w);
  return log;
}

/** For help texts: the serve flags these commands also take. */
export const SERVER_FLAGS_HELP = `Server settings (as for 'godepot serve', also from GODEPOT_* variables and --config FILE):
  --data DIR        the data folder to fill (${envName('data')}); safe while a server uses it
  --upstream LIST   upstream proxies in GOPROXY syntax
  --sumdb SPEC      checksum database "NAME+HASH+KEY URL[,URL...]" (repeatable)
  --nosumdb PATTERNS  private module patterns never sent to a database
  ... and every other 'godepot serve' flag (see 'godepot serve --help')`;
