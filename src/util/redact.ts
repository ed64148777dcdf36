// Credentials written into URLs (https://user:password@host/…), redacted
// wherever a text that may hold one is shown: settings in error messages,
// the output of git and the go command. One rule for all of godepot: the
// password (or a lone user name, often a token) reads as the go command's
// "xxxxx".

/** What a redacted password reads as (the go command's word). */
export const REDACTED = 'xxxxx';

/**
 * Redacts every URL in a text that may not parse (a setting's raw value in
 * an error message): whatever stands between the scheme ("https://", or a
 * mistyped "redis//" or "redis:") and "@".
 */
export function redactText(text: string): string {
  // Up to the last '@' before the path: a URL parser reads an unescaped '@' in a password so too. A scheme starts
  // where a run of scheme characters starts (the lookbehind): else every position of a long run of letters began
  // a scheme that ran to the run's end, and a line of n letters took n² steps (a hostile host's output, quoted).
  return (
    text
      .replace(
        /((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:(?:\/\/)?|\/\/)([^/\s"]*)@/gi,
        (_m, scheme: string, userinfo: string) => {
          const colon = userinfo.indexOf(':');
          return `${scheme}${colon < 0 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`}@`;
        },
      )
      // A password or token given as a parameter (redis://HOST:PORT/0?password=…, which ioredis reads as one;
      // ?token=… in a URL git or the go command prints).
      .replace(/((?:^|[?&\s])[a-z_]*(?:password|token)=)[^&\s"#]*/gi, `$1${REDACTED}`)
  );
}
