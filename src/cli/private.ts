// `godepot private ls|verify`: the private checksum ledger in godepot's storage (data folder or bucket).
// `ls` prints what was recorded; `verify` fetches every recorded version
// afresh from its origin (the same go command, environment and settings as
// `serve`) and exits 1 listing each one whose content changed — a tag moved
// to other code — with the recorded and the current hash.
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { GoRunner } from '../vcs/gorun.js';
import { existsSync } from 'node:fs';
import { legacyEntries, PrivateLedger } from '../vcs/ledger.js';
import { openStorage } from '../runtime/stores.js';
import { openLocalFile, S3Storage } from '../storage/index.js';
import { Origin } from '../vcs/origin.js';
import { matchPrefixPatterns } from '../module/index.js';
import { join } from 'node:path';
import {
  commandLogger,
  loadCommandSettings,
  PROCESS_IO,
  SERVER_FLAGS_HELP,
  type CommandIO,
} from './command-settings.js';

const USAGE = `Usage: godepot private ls [--data DIR | --storage s3://BUCKET/PREFIX ...]
       godepot private verify [--data DIR | --storage ...] [--private PATTERNS] [server flags]

ls      prints the private checksum ledger: module, version, h1: of the zip and of go.mod, when recorded
verify  fetches every recorded version again from its origin; exits 1 listing those whose content changed
        (module, version, recorded and current hash), 3 when none changed but some could not be
        fetched (listed as FAILED), 0 when all match

${SERVER_FLAGS_HELP}
`;

export async function privateCommand(args: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'ls' && sub !== 'verify') {
    if (sub !== undefined && !['--help', '-h'].includes(sub))
      throw new ConfigError(
        `unknown subcommand ${JSON.stringify(sub)}: give ls or verify (see godepot private --help)`,
      );
    io.out(USAGE);
    return sub === '--help' || sub === '-h' ? 0 : 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  const cs = loadCommandSettings('private', rest, [], io.env);
  if (cs.flags.positionals.length > 0)
    throw new ConfigError(`unexpected argument ${JSON.stringify(cs.flags.positionals[0])}`);
  const settings = cs.settings;
  // Reading a ledger must not make a data folder where a mistyped --data names none.
  if (settings.storage.kind === 'fs' && !existsSync(settings.data))
    throw new ConfigError(`there is no data folder at ${settings.data}; give the one godepot serve uses (--data)`);
  const storage = await openStorage(settings);
  const where = storage instanceof S3Storage ? storage.name : settings.data;
  const damaged: string[] = [];
  let entries;
  try {
    // An earlier layout's ledger file is read, not imported (godepot serve imports it at its start).
    entries = await (await PrivateLedger.open(storage)).list((key, why) => damaged.push(`${key}: ${why}`));
    entries.push(...(await legacyEntries(settings.data, entries)));
  } finally {
    await storage.close();
  }
  for (const d of damaged) io.out(`DAMAGED  ${d}\n`);
  if (sub === 'ls') {
    if (entries.length === 0) io.out(`The private ledger of ${where} is empty.\n`);
    for (const e of entries) io.out(`${e.module} ${e.version} ${e.zip} go.mod ${e.mod} recorded ${e.recorded}\n`);
    return damaged.length > 0 ? 1 : 0;
  }
  const log: Logger = commandLogger(settings);
  const runner = new GoRunner({
    go: 'go',
    env: io.env,
    privatePatterns: settings.private,
    workRoot: join(settings.data, 'vcs'),
    concurrency: settings.vcs.concurrency,
    timeoutMs: settings.vcs.timeout,
  });
  const isPrivate = (p: string): boolean => settings.private !== '' && matchPrefixPatterns(settings.private, p);
  const origin = new Origin({ runner, openFile: openLocalFile, ledger: null, isPrivate, log });
  let changed = 0;
  let failed = 0;
  const signal = new AbortController().signal;
  for (const e of entries) {
    try {
      const now = await origin.resolveHashes(e.module, e.version, signal);
      if (now.zip === e.zip && now.mod === e.mod) {
        io.out(`ok       ${e.module} ${e.version} ${e.zip}\n`);
        continue;
      }
      changed++;
      io.out(
        `CHANGED  ${e.module} ${e.version}: recorded ${e.zip} (go.mod ${e.mod}) on ${e.recorded}, origin now has ${now.zip} (go.mod ${now.mod})\n`,
      );
    } catch (err) {
      failed++;
      io.out(`FAILED   ${e.module} ${e.version}: ${(err as Error).message}\n`);
    }
  }
  io.out(
    `${entries.length} recorded, ${entries.length - changed - failed} unchanged, ${changed} changed, ${failed} could not be fetched${damaged.length > 0 ? `, ${damaged.length} damaged records` : ''}\n`,
  );
  return changed > 0 || damaged.length > 0 ? 1 : failed > 0 ? 3 : 0;
}
