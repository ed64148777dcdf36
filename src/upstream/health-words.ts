// One upstream's health in words, the same wherever it is shown: /readyz
// (each upstream's `health`, and its reasons), /api/upstreams, doctor's
// report of a godepot (it quotes /readyz), and a client's error message
// when the open breaker refused its call. One state at a time:
//   healthy
//   failing since <when> (<how long>)                      calls fail, the breaker still closed
//   circuit open, next probe in <how long>; failing since …  calls refused until a probe may go
//   half-open: probing; failing since …                    one probe out, the others refused
// The operator page shows these words as /api/upstreams carries them (src/ui/format.ts).
import type { BreakerState } from './breaker.js';

/** A duration as `godepot incidents` and the messages say it: 45s, 12m05s, 3h05m. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface HealthFacts {
  readonly state: BreakerState;
  /** Start of the failure streak (epoch ms), if failing. */
  readonly failingSince?: number | undefined;
  /** While open: when a probe may go (epoch ms; may have passed, with no call since). */
  readonly nextProbeAt?: number | undefined;
}

/** The state of one upstream in words, at now (epoch ms, on the clock its times are on). */
export function healthWords(h: HealthFacts, now: number): string {
  const failing =
    h.failingSince === undefined
      ? undefined
      : `failing since ${new Date(h.failingSince).toISOString()} (${formatAge(now - h.failingSince)})`;
  const and = failing === undefined ? '' : `; ${failing}`;
  switch (h.state) {
    case 'closed':
      return failing ?? 'healthy';
    case 'open': {
      const next = h.nextProbeAt;
      // Past it, the next call (a client's, or the background re-probe) is the probe.
      const when =
        next === undefined
          ? ''
          : next > now
            ? `, next probe in ${formatAge(Math.max(1000, next - now))}`
            : ', next probe due now';
      return `circuit open${when}${and}`;
    }
    case 'half-open':
      return `half-open: probing${and}`;
  }
}
