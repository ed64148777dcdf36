// `godepot auth add NAME --modules PATTERNS [--auth FILE]`: adds (or
// re-keys) a user of the --auth file. The new random token is printed once;
// only its SHA-256 is written. A running server picks the change up.
import { chmod, chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, parseFlags } from '../config/load.js';
import { hashToken, newToken, UsersFileError, withUser } from '../auth/users.js';
import { NOT_A_FILE } from '../auth/users-file.js';
import { unreadableFile } from '../util/error-codes.js';
import { PROCESS_IO, type CommandIO } from './command-settings.js';
import { splitPatterns } from '../module/index.js';

const FLAGS = [
  {
    name: 'modules',
    type: 'string',
    default: '',
    help: 'GOPRIVATE-style patterns the user may read ("*": every module and the operator pages)',
  },
  { name: 'auth', type: 'string', default: '', help: 'the users file (default: GODEPOT_AUTH)' },
] as const;

const USAGE = `Usage: godepot auth add NAME --modules PATTERNS [--auth FILE]

Adds user NAME to the users file (creating it; an existing NAME gets a new token),
prints the new token once, and writes only its SHA-256. PATTERNS are GOPRIVATE-style,
comma-separated; "*" allows every module and the operator pages. There is no default:
what a token may read is said when it is made.
`;

export async function authCommand(args: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'add') {
    if (sub !== undefined && !['--help', '-h'].includes(sub))
      throw new ConfigError(`unknown subcommand ${JSON.stringify(sub)}: give add (see godepot auth --help)`);
    io.out(USAGE);
    return sub === '--help' || sub === '-h' ? 0 : 2;
  }
  const flags = parseFlags(rest, 'auth', FLAGS);
  if (flags.help) {
    io.out(USAGE);
    return 0;
  }
  const name = flags.positionals[0];
  if (name === undefined || flags.positionals.length > 1) throw new ConfigError('give exactly one user NAME');
  const file = flags.values.get('auth')?.[0] ?? io.env.GODEPOT_AUTH ?? '';
  if (file === '') throw new ConfigError('no users file: give --auth FILE or set GODEPOT_AUTH');
  // Patterns add up when --modules is repeated.
  const modules = splitPatterns(flags.values.get('modules') ?? []).join(',');
  if (modules.trim() === '')
    throw new ConfigError(
      `give --modules PATTERNS: the modules ${name} may read, GOPRIVATE-style (for example 'corp.example/*,example.com'; '*' for every module and the operator pages)`,
    );
  let text: string | null = null;
  // The file's mode and owner, kept: godepot may run as another user than the one adding (root:godepot 0640).
  let kept: { mode: number; uid: number; gid: number } | null = null;
  try {
    const st = await stat(file);
    // A pipe or a device would hold the read for ever.
    if (!st.isFile() && !st.isDirectory()) throw new ConfigError(`cannot read ${file}: ${NOT_A_FILE}`);
    text = await readFile(file, 'utf8');
    kept = { mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`cannot read ${file}: ${unreadableFile(err, 'a users file')}`);
  }
  const token = newToken();
  let next: string;
  try {
    next = withUser(text, name, hashToken(token), modules);
  } catch (err) {
    if (err instanceof UsersFileError) throw new ConfigError(`${file}: ${err.message}`);
    throw err;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, next, { mode: 0o600 });
    if (kept) {
      await chmod(tmp, kept.mode);
      // Only root may give a file away; anyone else writes a file of their own, as before.
      await chown(tmp, kept.uid, kept.gid).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPERM') throw err;
      });
    }
    await rename(tmp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `cannot write ${file}: its folder ${dirname(file)} does not exist; create it first`
        : `cannot write ${file}: ${(err as Error).message}`,
    );
  }
  io.out(
    `User ${name} may read modules matching ${modules}. Its token (shown only now; godepot keeps only its SHA-256):\n${token}\n`,
  );
  return 0;
}
