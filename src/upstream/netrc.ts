// Credentials from a .netrc file for https upstreams, as the go command
// sends them (GOAUTH=netrc, its default; cmd/go/internal/auth): a company's
// authenticated module proxy that `go` reaches with the user's ~/.netrc is
// reached by godepot with the same file.
//
//   - the file is $NETRC, else ~/.netrc;
//   - only when GOAUTH is unset or lists the netrc command ("off" turns
//     credentials off, as for the go command);
//   - a "machine" entry with a login and a password gives HTTP Basic
//     credentials for https URLs whose host (with its port, if the URL has
//     one) is that machine; a later entry for the same machine wins;
//     "default" is not used; "macdef" bodies are skipped;
//   - never for http URLs.
//
// A user:password in the upstream URL itself comes first (credentials.ts).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface NetrcEntry {
  readonly machine: string;
  readonly login: string;
  readonly password: string;
}

/** The machine entries of a .netrc text, in order (the go command's reading of the format). */
export function parseNetrc(text: string): NetrcEntry[] {
  const out: NetrcEntry[] = [];
  let cur = { machine: '', login: '', password: '' };
  let inMacro = false;
  for (const line of text.split('\n')) {
    if (inMacro) {
      if (line === '') inMacro = false;
      continue;
    }
    const f = line.split(/\s+/).filter(Boolean);
    let i = 0;
    for (; i < f.length - 1; i += 2) {
      const [key, value] = [f[i] as string, f[i + 1] as string];
      if (key === 'machine') cur = { machine: value, login: '', password: '' };
      else if (key === 'login') cur.login = value;
      else if (key === 'password') cur.password = value;
      else if (key === 'macdef') inMacro = true;
      if (cur.machine !== '' && cur.login !== '' && cur.password !== '') {
        out.push(cur);
        cur = { machine: '', login: '', password: '' };
      }
    }
    // As the go command reads it: a "default" left unpaired at the end of a line ends the entries.
    if (f[i] === 'default') break;
  }
  return out;
}

/** Whether GOAUTH (as the go command reads it) asks for .netrc credentials. */
export function goauthUsesNetrc(goauth: string | undefined): boolean {
  if (goauth === undefined || goauth.trim() === '') return true;
  return goauth.split(';').some((cmd) => cmd.trim().split(/\s+/)[0] === 'netrc');
}

/**
 * The Authorization header .netrc gives a URL, or undefined: a lookup over
 * the file as read now (godepot reads it once at start, like the go command
 * once per run).
 */
export function netrcCredentials(env: NodeJS.ProcessEnv = process.env): (url: string) => string | undefined {
  if (!goauthUsesNetrc(env.GOAUTH)) return () => undefined;
  const file = env.NETRC || join(env.HOME || homedir(), '.netrc');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return () => undefined;
  }
  const byMachine = new Map<string, string>();
  for (const e of parseNetrc(text))
    byMachine.set(e.machine, `Basic ${Buffer.from(`${e.login}:${e.password}`).toString('base64')}`);
  if (byMachine.size === 0) return () => undefined;
  return (url) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return undefined;
    }
    return u.protocol === 'https:' ? byMachine.get(u.host) : undefined;
  };
}
