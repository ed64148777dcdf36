// Lines a client can make godepot say as often as it likes (one per failing
// request, one per module or host it names) would bury the lines that matter:
// each kind is said at its level at most once per interval, with how many
// went unsaid since; the others at debug level (the access log and the
// metrics count every one).
import type { Logger } from 'pino';
import { passed } from './clock.js';

/** Says each kind at most once per everyMs; the kinds are a fixed set (an error code, a failure class). */
export class Spacing<K> {
  private readonly said = new Map<K, { at: number; since: number }>();

  constructor(
    private readonly everyMs: number,
    private readonly now: () => number,
  ) {}

  /** null: not now (counted); else how many of this kind went unsaid since the last one said. */
  take(kind: K): number | null {
    const now = this.now();
    const s = this.said.get(kind);
    if (s && !passed(s.at, this.everyMs, now)) {
      s.since++;
      return null;
    }
    this.said.set(kind, { at: now, since: 0 });
    return s?.since ?? 0;
  }

  /** Says msg at level, or at debug level when its kind was said lately; `counted` names how many went unsaid since. */
  say(log: Logger, level: 'info' | 'warn' | 'error', kind: K, record: object, msg: string, counted: string): void {
    const since = this.take(kind);
    if (since === null) log.debug(record, msg);
    else log[level](since > 0 ? { ...record, [counted]: since } : record, msg);
  }
}

/** The interval of the lines spaced so far: once per 10 s per kind. */
export const SAID_EVERY_MS = 10_000;
