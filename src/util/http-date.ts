// HTTP-date (RFC 9110 §5.6.7): what a Retry-After names when it is no count
// of seconds. A recipient takes all three forms: the IMF-fixdate every server
// should send, and the obsolete RFC 850 and asctime forms some still do.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const DAY = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** Sun, 06 Nov 1994 08:49:37 GMT */
const IMF_FIXDATE = new RegExp(`^(?:${DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
/** Sunday, 06-Nov-94 08:49:37 GMT */
const RFC850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`,
);
/** Sun Nov  6 08:49:37 1994 (GMT, unsaid) */
const ASCTIME = new RegExp(`^(?:${DAY}) (${MONTH}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** The time an HTTP-date names (ms since the epoch); NaN when s is none, or names no real time. */
export function parseHttpDate(s: string, now: number): number {
  let m = IMF_FIXDATE.exec(s);
  if (m) return at(Number(m[3]), m[2], m[1], m[4], m[5], m[6]);
  m = RFC850.exec(s);
  if (m) {
    // Two digits of a year: one that would be more than 50 years ahead is the last such year in the past.
    const thisYear = new Date(now).getUTCFullYear();
    let year = thisYear - (thisYear % 100) + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return at(year, m[2], m[1], m[4], m[5], m[6]);
  }
  m = ASCTIME.exec(s);
  if (m) return at(Number(m[6]), m[1], m[2], m[3], m[4], m[5]);
  return NaN;
}

function at(
  year: number,
  month: string | undefined,
  day: string | undefined,
  ...hms: Array<string | undefined>
): number {
  const [h, min, sec] = hms.map(Number) as [number, number, number];
  const mon = MONTHS.indexOf(month ?? '');
  const d = Number(day?.trim());
  // A leap second (:60) is the second before the next minute's first.
  if (d < 1 || h > 23 || min > 59 || sec > 60) return NaN;
  const t = Date.UTC(year, mon, d, h, min, Math.min(sec, 59));
  // 31 Feb and the like: Date.UTC would roll them into the next month.
  return new Date(t).getUTCDate() === d ? t : NaN;
}
