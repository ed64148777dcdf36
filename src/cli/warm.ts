// `godepot warm`: fills the cache before it is needed, from go.sum files,
// go.mod files, lists of module@version or folders of repositories, through
// the same code path as serving (so everything kept is verified). Safe to run
// against the data folder of a running godepot: every write is an atomic
// rename of a verified file.
import { ConfigError } from '../config/load.js';
import type { OptionSpec } from '../config/options.js';
import {
  commandLogger,
  intFlag,
  loadCommandSettings,
  PROCESS_IO,
  SERVER_FLAGS_HELP,
  type CommandIO,
} from './command-settings.js';
import { createProgress, formatBytes, printable, type ProgressMode } from './progress.js';
import { collectTargets } from './targets.js';
import { composeBatch, runWarm, warmFailed, type WarmReport } from './warm-run.js';
import { processWideController } from '../util/signals.js';

export const BATCH_FLAGS: readonly OptionSpec[] = [
  { name: 'concurrency', type: 'int', default: '8', help: 'module versions fetched at the same time' },
  {
    name: 'progress',
    type: 'string',
    default: 'auto',
    choices: ['auto', 'bar', 'plain', 'none'],
    help: 'progress display (auto: a bar on a terminal, plain lines otherwise)',
  },
];

const WARM_HELP = `Usage: godepot warm [flags] INPUT...

Fills godepot's cache before it is needed: downloads every module version
named by the inputs through godepot's own verifying path (checksum-database
record first, then .mod, .info and .zip checked against it) and keeps it.

INPUT is any of:
  path/to/go.sum       every module version in it (go.mod-only lines fetch only the .mod)
  path/to/go.mod       its requirements, and the go.mod files of their module graph
  path/to/list.txt     one module@version per line ('-' reads stdin)
  path/to/folder       every go.sum and go.work.sum below it (.git, vendor, testdata, node_modules skipped)
  module@version       one module version

Flags:
  --concurrency N      module versions fetched at the same time (default 8)
  --progress MODE      auto | bar | plain | none (default auto: a bar on a terminal)

${SERVER_FLAGS_HELP}

Exit status: 0 when every module version was fetched and verified (and, for
go.sum inputs, matches go.sum); 1 otherwise; 2 for bad arguments.
`;

export function progressMode(s: string): ProgressMode {
  if (s === 'auto' || s === 'bar' || s === 'plain' || s === 'none') return s;
  throw new ConfigError(`invalid --progress ${JSON.stringify(s)}: want auto, bar, plain or none`);
}

/** The report printed after a warm-like run. */
export function formatWarmReport(r: WarmReport, verb: string, notes: readonly string[] = []): string {
  const lines: string[] = [];
  const dbPart =
    r.recordsKept > 0 || r.tilesKept > 0
      ? `; ${r.recordsKept} checksum-database record${r.recordsKept === 1 ? '' : 's'} and ${r.tilesKept} tile${r.tilesKept === 1 ? '' : 's'} kept for clients`
      : '';
  lines.push(
    `${verb} ${r.ok} of ${r.modules} module versions: ${r.stored} files fetched and verified now, ${r.cached} already cached, ${formatBytes(r.bytes)}${dbPart}`,
  );
  if (r.interrupted) lines.push('interrupted: the rest was not tried');
  if (r.tileProblem) lines.push(`problem: ${r.tileProblem}`);
  const gap = r.dataTilesMissing;
  // Not a failure: every module above is verified and kept; these would answer lookups of modules not fetched.
  if (gap)
    lines.push(
      `note: ${gap.missing} of ${gap.tiles} data tile${gap.tiles === 1 ? '' : 's'} of checksum database ${gap.db} around these records could not be kept${gap.error ? ` (${gap.error})` : ''}; every module above is verified and kept, what is missing is answering lookups of their neighbours in the log (modules not fetched here) while the database is down. If ${gap.db} should be reachable from here, check the way to it, then run the same command again: it fetches only the missing tiles`,
    );
  lines.push(...notes);
  if (r.failures.length > 0) {
    lines.push(`${r.failures.length} failed:`);
    for (const f of [...r.failures].sort((a, b) => a.module.localeCompare(b.module))) {
      lines.push(`  ${f.module}`);
      for (const p of f.problems) lines.push(`      ${p}`);
    }
  }
  // One line each, whatever a name or a message from a foreign folder or go.sum holds.
  return lines.map(printable).join('\n') + '\n';
}

/** Aborts the signal on the first SIGINT/SIGTERM (the run reports what it did); returns an undo. */
export function interruptible(): { signal: AbortSignal; release(): void } {
  const ctl = processWideController();
  const stop = (): void => ctl.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: ctl.signal,
    release() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

export async function warmCommand(args: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  const cs = loadCommandSettings('warm', args, BATCH_FLAGS, io.env);
  if (cs.flags.help) {
    io.out(WARM_HELP);
    return 0;
  }
  const inputs = cs.flags.positionals;
  if (inputs.length === 0)
    throw new ConfigError(
      'nothing to warm: give go.sum or go.mod files, folders, lists or module@version (see godepot warm --help)',
    );
  const concurrency = intFlag(cs, 'concurrency', 1, 256);
  const mode = progressMode(cs.flag('progress'));
  const collected = await collectTargets(inputs);
  const settings = cs.settings;
  const log = commandLogger(settings, io, 'godepot warm');
  const g = await composeBatch(settings, log);
  const interrupt = interruptible();
  let report: WarmReport;
  try {
    report = await runWarm(g, collected.targets, {
      concurrency,
      progress: createProgress(io.err, mode, 'warming'),
      signal: interrupt.signal,
    });
  } finally {
    interrupt.release();
    await g.close();
    log.flush();
  }
  io.out(
    formatWarmReport(
      report,
      'warmed',
      collected.errors.map((e) => `input: ${e.message}`),
    ),
  );
  return warmFailed(report) || collected.errors.length > 0 ? 1 : 0;
}
