// `godepot doctor`: is it the network or our config? Diagnoses a Go client's
// settings and the path to its proxies and checksum database.
import { matchPrefixPatterns } from '../../module/index.js';
import { PROCESS_IO, type CommandIO } from '../command-settings.js';
import { ConfigError, parseFlags } from '../../config/load.js';
import type { OptionSpec } from '../../config/options.js';
import { parseDuration } from '../../config/values.js';
import { parseGoproxy } from './config-check.js';
import { readGoConfig } from './goenv.js';
import { formatJson, formatReport } from './report.js';
import { redact, runDoctor, type DoctorReport } from './run.js';
import { diagnoseModuleFetch, fetchModuleList } from './private.js';
import { proxyRules } from '../../upstream/env-proxy.js';
import { netrcCredentials } from '../../upstream/netrc.js';
import { goTrustOptions } from '../../upstream/roots.js';
import { redactText } from '../../util/redact.js';
import { codesOf } from '../../util/error-codes.js';

const FLAGS: readonly OptionSpec[] = [
  { name: 'goproxy', type: 'string', default: '', help: "check this GOPROXY instead of the client's" },
  { name: 'gosumdb', type: 'string', default: '', help: "check this GOSUMDB instead of the client's" },
  { name: 'json', type: 'boolean', default: 'false', help: 'print JSON' },
  { name: 'timeout', type: 'duration', default: '5s', help: 'deadline of each check' },
  { name: 'no-go', type: 'boolean', default: 'false', help: 'read the environment, not `go env`' },
  { name: 'module', type: 'list', default: [], help: 'a (private) module to fetch through the first proxy' },
];

const DOCTOR_HELP = `Usage: godepot doctor [--goproxy LIST] [--gosumdb SPEC] [--module PATH]... [--json] [--timeout 5s] [--no-go]

Diagnoses a Go client's module settings and the path to its proxies and
checksum database, from where it runs. Settings come from 'go env' when a go
command is on PATH, else from the environment (GOPROXY, GOSUMDB, GONOSUMDB,
GONOPROXY, GOPRIVATE, GOFLAGS, GOINSECURE, GOAUTH); --goproxy/--gosumdb
override them.

For each proxy, then for the checksum database the go command would use, it
checks DNS, TCP, TLS (https), an HTTP request to the protocol
(/sumdb/<name>/supported, the database's /latest) and the tree head's
signature with the configured key. One line per check with its time, then a
verdict separating network problems from configuration problems, with fixes.

With --module PATH (repeatable), it also fetches that module's version list
through the first proxy and says why it fails: credentials (the client's for
godepot, or godepot's for the Git host), network, or configuration.

Exit status: 0 when all is well, 1 when something is broken, 2 for bad flags.
`;

export interface DoctorDeps {
  readonly env?: NodeJS.ProcessEnv;
  readonly write?: (s: string) => void;
}

/** Runs the doctor; resolves to the report and the exit code. */
export async function doctor(
  args: readonly string[],
  deps: DoctorDeps = {},
): Promise<{ report: DoctorReport; code: number; output: string }> {
  const flags = parseFlags(args, 'doctor', FLAGS);
  if (flags.positionals.length > 0)
    throw new ConfigError(`unexpected argument ${JSON.stringify(flags.positionals[0])}`);
  const one = (n: string): string | undefined => flags.values.get(n)?.at(-1);
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(one('timeout') ?? '5s');
  } catch (err) {
    throw new ConfigError(`invalid --timeout: ${(err as Error).message}`);
  }
  const goproxy = one('goproxy');
  const gosumdb = one('gosumdb');
  const { config, source } = await readGoConfig({
    env: deps.env ?? process.env,
    useGo: one('no-go') !== 'true',
    overrides: {
      ...(goproxy === undefined ? {} : { GOPROXY: goproxy }),
      ...(gosumdb === undefined ? {} : { GOSUMDB: gosumdb }),
    },
  });
  const env = deps.env ?? process.env;
  // The go command's HTTP proxies (HTTPS_PROXY…): the checks take the path its requests take.
  const proxies = proxyRules(env);
  const trust = goTrustOptions(env);
  // GOAUTH as the go command has it (go env), not only as the environment says.
  const ambientAuth = netrcCredentials({ ...env, GOAUTH: config.GOAUTH });
  const checked = await runDoctor(config, { timeoutMs, source, proxies, trust, ambientAuth });
  // The first proxy the go command asks, read as it reads GOPROXY (a bare host is https; nothing after direct or off).
  const first = parseGoproxy(checked.config.GOPROXY).entries.find(
    (e) => e.kind === 'url' && /^https?:/.test(e.url),
  )?.url;
  for (const module of flags.values.get('module') ?? []) {
    // Asked about a module and told nothing of it, the reader took "all good" for it too.
    if (!first) {
      checked.findings.push({
        kind: 'config',
        severity: 'warning',
        subject: module,
        message: `${module} was not fetched: GOPROXY=${checked.config.GOPROXY} names no http(s) proxy to ask for it`,
        fix: 'put godepot first in GOPROXY (GOPROXY=https://godepot.internal|direct) to fetch it through godepot, or give --goproxy to check one',
      });
      continue;
    }
    // The go command never sends such a path to a proxy; nor does doctor (a public proxy would learn it).
    if (matchPrefixPatterns(checked.config.GONOPROXY, module)) {
      checked.findings.push({
        kind: 'config',
        severity: 'warning',
        subject: module,
        message: `${module} matches GONOPROXY (or GOPRIVATE, its default) here: the go command fetches it from its origin, not through ${redact(first)}, so it was not asked for it`,
        fix: `to fetch it through godepot, leave it out of the client's GONOPROXY and GOPRIVATE and start godepot with --private for it`,
      });
      continue;
    }
    const f = await fetchModuleList(first, module, timeoutMs, {
      httpProxy: proxies.proxyFor(new URL(first)),
      ambientAuth,
      trust,
    }).then(
      (a) => diagnoseModuleFetch(module, redact(first), a),
      (err: unknown) =>
        diagnoseModuleFetch(module, redact(first), {
          status: 0,
          body: (err as Error).message,
          // Connected and asked, then no answer in time: not a broken path from here to godepot.
          waited: codesOf(err).some((c) => c === 'UND_ERR_HEADERS_TIMEOUT' || c === 'UND_ERR_BODY_TIMEOUT'),
        }),
    );
    if (f) checked.findings.push(f);
  }
  const report: DoctorReport = { ...checked, ok: !checked.findings.some((f) => f.severity === 'problem') };
  if (proxies.any) {
    report.findings.push({
      kind: 'network',
      severity: 'info',
      subject: 'HTTPS_PROXY',
      message: `the go command's requests go through an HTTP proxy (${proxies.describe()}), and so do these checks: their DNS, TCP and TLS lines are about the proxy, their HTTP lines about the service behind it`,
    });
  }
  // A report is pasted into tickets: no credential from GOPROXY or GOSUMDB in it, wherever a line quotes them.
  const output = redactText(one('json') === 'true' ? formatJson(report) : formatReport(report));
  return { report, code: report.ok ? 0 : 1, output };
}

export async function doctorCommand(args: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(DOCTOR_HELP);
    return 0;
  }
  const { code, output } = await doctor(args);
  io.out(output);
  return code;
}
