// The doctor's output: one line per check with its time, the configuration
// findings, then a verdict that keeps network trouble (DNS, refused, time-out,
// TLS) apart from service errors and configuration mistakes, each with a fix.
import { GO_VARS, type Finding } from './config-check.js';
import type { DoctorReport } from './run.js';
import type { Step } from './probes.js';

function stepLine(s: Step): string {
  const mark = s.note ? 'note' : s.ok ? 'ok' : 'FAIL';
  return `  ${mark.padEnd(5)} ${s.name.padEnd(8)} ${s.detail}${s.ms > 0 || s.name !== 'key' ? `  (${s.ms} ms)` : ''}`;
}

const VERDICT_TITLE: Record<Finding['kind'], string> = {
  network: 'NETWORK problem: the path to a proxy or database is broken',
  service: 'SERVICE problem: it is reachable but answers with errors or reports a problem',
  config: 'CONFIGURATION problem: the Go settings are wrong',
};

/** The verdict lines: one block per kind of problem, most fundamental first. */
export function verdict(findings: readonly Finding[]): string[] {
  const problems = findings.filter((f) => f.severity === 'problem');
  if (problems.length === 0)
    return ['Verdict: all good: the network path works and the settings keep verification on.'];
  const out: string[] = [];
  for (const kind of ['network', 'service', 'config'] as const) {
    const ps = problems.filter((f) => f.kind === kind);
    if (ps.length === 0) continue;
    out.push(`Verdict: ${VERDICT_TITLE[kind]}`);
    for (const p of ps) {
      out.push(`  - ${p.message}`);
      if (p.fix) out.push(`    fix: ${p.fix}`);
    }
  }
  return out;
}

export function formatReport(r: DoctorReport): string {
  const lines: string[] = [`Go settings from ${r.source}:`];
  for (const k of GO_VARS) lines.push(`  ${k}=${r.config[k]}`);
  for (const t of r.targets) {
    lines.push('', `${t.role} ${t.url}${t.note ? `  (${t.note})` : ''}`);
    for (const s of t.steps) lines.push(stepLine(s));
  }
  const notes = r.findings.filter((f) => f.severity !== 'problem');
  if (notes.length > 0) {
    lines.push('', 'Notes:');
    for (const n of notes) lines.push(`  ${n.severity}: ${n.message}${n.fix ? `\n    fix: ${n.fix}` : ''}`);
  }
  lines.push('', ...verdict(r.findings));
  return lines.join('\n') + '\n';
}

export function formatJson(r: DoctorReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
