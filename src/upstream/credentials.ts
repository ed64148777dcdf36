// Credentials in an upstream URL (https://user:password@host/path), taken as
// the go command takes them in a GOPROXY entry: its HTTP client sends the
// URL's user:password as HTTP Basic authorization, and it names the URL
// everywhere with the password redacted (net/url's URL.Redacted:
// https://user:xxxxx@host/path).
//
// godepot names an upstream by its redacted URL everywhere: endpoint keys,
// logs, metric labels, /readyz, /api, incidents, health news shared between
// nodes, error bodies. The password itself is kept only in an UrlCredential,
// which the endpoint of that URL (and of every URL below it, such as the
// checksum database an upstream serves at <upstream>/sumdb/<name>) turns into
// the Authorization header of its calls. undici drops that header on a
// redirect to another origin, as Go's client does.
import { REDACTED } from '../util/redact.js';
import type { UrlCredential } from './types.js';

/**
 * The URL for display: the password replaced by xxxxx. A user name alone is
 * redacted too — unlike Go's Redacted, since a token is often given as the
 * user name (https://TOKEN@host).
 */
export function redactUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.toString();
  const shown = new URL(url.toString());
  if (url.password !== '') shown.password = REDACTED;
  else shown.username = REDACTED;
  return shown.toString();
}

/**
 * Splits a URL into the name it is shown and known by (redacted, without a
 * trailing slash) and, if it holds a user name, the credential to send to it.
 */
export function splitCredentials(url: URL): { name: string; credential?: UrlCredential } {
  const name = redactUrl(url).replace(/\/+$/, '');
  if (url.username === '' && url.password === '') return { name };
  const userPass = `${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`;
  return { name, credential: { url: name, authorization: `Basic ${Buffer.from(userPass).toString('base64')}` } };
}

/**
 * The Authorization header for calls to url: the credential given for it, or
 * for the URL it lies below (the longest such), if any.
 */
export function authorizationFor(credentials: readonly UrlCredential[], url: string): string | undefined {
  let best: UrlCredential | undefined;
  for (const c of credentials) {
    if ((url === c.url || url.startsWith(c.url + '/')) && c.url.length > (best?.url.length ?? -1)) best = c;
  }
  return best?.authorization;
}

/** A URL's user or password as the go command sends it: %-escapes decoded (one that is not valid stays as written). */
function decodeUserinfo(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
