// `godepot incidents`: the upstream outage log of a data folder, as a table
// (or JSON with --json). Reads the folder directly, so it works whether or
// not the server is running.
import { resolve } from 'node:path';
import { buildSettings, ConfigError, layeredValues, parseFlags } from '../config/load.js';
import { envName, OPTIONS } from '../config/options.js';
import { DEFAULT_DATA } from '../config/settings.js';
import { readIncidents, type Incident } from '../proxy/incidents.js';
import { openStorage } from '../runtime/stores.js';
import { isDataFolder } from '../storage/index.js';
import { formatAge } from '../upstream/errors.js';
import { shorten } from '../util/shorten.js';
import { PROCESS_IO, type CommandIO } from './command-settings.js';

/** An ISO time as the table shows it: 2026-12-06 10:11:37Z. */
const time = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

const FLAGS = [{ name: 'json', type: 'boolean', default: 'false', help: 'print JSON' }] as const;

export function formatIncidentTable(incidents: readonly Incident[], now = Date.now()): string {
  if (incidents.length === 0) return 'No upstream incidents recorded.\n';
  const rows = [['START', 'END', 'DURATION', 'UPSTREAM', 'FAILURE', 'FROM CACHE', 'UNVERIFIED', 'FAILED', 'DETAIL']];
  for (const i of incidents) {
    rows.push([
      time(i.start),
      // An end godepot did not see (it stopped while the outage was open): when it last looked.
      // An event (a refused fork) is over as it happens: no end, no duration, not a 0s outage.
      i.event ? '-' : i.end ? `${i.endUnknown ? 'stopped ' : ''}${time(i.end)}` : 'ongoing',
      i.event ? 'event' : `${i.endUnknown ? '≥' : ''}${formatAge(i.durationMs ?? now - Date.parse(i.start))}`,
      i.upstream,
      i.failureClass,
      String(i.servedFromCache),
      String(i.servedUnverified),
      String(i.failed),
      shorten(i.detail, 60),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, c) => cell.padEnd(widths[c] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

const HELP = `Usage: godepot incidents [--data DIR | --storage s3://BUCKET/PREFIX [--s3-endpoint URL]] [--json]

Prints the outage log of a godepot data folder or object store: each outage
of an upstream proxy or checksum database with its start, end, duration,
failure, and how many requests were served from cache, served unverified, or
failed meanwhile. Reads the storage directly, so it works whether or not the
server runs (with several nodes: the cluster's incidents).

  --data DIR            the data folder (${envName('data')}; default ${DEFAULT_DATA})
  --storage URL         fs (the data folder) or s3://BUCKET/PREFIX (${envName('storage')})
  --s3-endpoint URL     an S3-compatible endpoint such as MinIO (${envName('s3-endpoint')})
  --json                print JSON instead of a table
`;

export async function incidentsCommand(args: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  const flags = parseFlags(args, 'incidents', [...OPTIONS, ...FLAGS]);
  if (flags.help) {
    io.out(HELP);
    return 0;
  }
  if (flags.positionals.length > 0)
    throw new ConfigError(`unexpected argument ${JSON.stringify(flags.positionals[0])}`);
  // The same storage settings as serve: with --storage s3://…, the whole cluster's incidents.
  const settings = buildSettings(layeredValues(flags, io.env));
  if (settings.storage.kind === 'fs') {
    // Reading must not make a data folder (opening one does): a wrong folder would say "no incidents".
    const folder = resolve(settings.data);
    if (!isDataFolder(folder))
      throw new ConfigError(
        `no godepot data folder at ${folder}: give --data DIR, the folder godepot serve keeps its data in (${envName('data')})`,
      );
  }
  const storage = await openStorage(settings);
  try {
    const incidents = await readIncidents(storage, Date.now(), (key, why) =>
      io.err.write(`godepot: left out the incident record ${key} (${why}); remove it\n`),
    );
    if (flags.values.get('json')?.[0] === 'true') io.out(JSON.stringify(incidents, null, 2) + '\n');
    else {
      io.out(formatIncidentTable(incidents));
      const where =
        settings.storage.kind === 'fs'
          ? resolve(settings.data)
          : `s3://${settings.storage.bucket}/${settings.storage.prefix}`;
      if (incidents.length === 0) io.out(`(read ${where})\n`);
    }
  } finally {
    await storage.close();
  }
  return 0;
}
