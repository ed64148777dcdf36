// When a worker of `serve --workers N` dies, the primary starts another in its
// slot. One that dies again soon after it started (the data folder turned
// read-only, the machine out of memory) would otherwise be replaced at once,
// for ever: a loop that burns a core and writes an error line per turn. So a
// slot whose workers keep dying young waits before the next one, longer each
// time, up to MAX_DELAY_MS; a worker that lived UPTIME_MS resets it.
import type { WorkersStatus } from '../coord/index.js';

/** A worker that lived this long (ms) died of something other than its start. */
export const UPTIME_MS = 10_000;
/** The longest wait before a slot's next worker (ms). */
export const MAX_DELAY_MS = 60_000;

export interface Restart {
  /** How long to wait before starting the slot's next worker (ms; 0: at once). */
  readonly delayMs: number;
  /** How long the worker that died had lived (ms). */
  readonly livedMs: number;
  /** Workers of the slot in a row that died within UPTIME_MS of their start, this one included. */
  readonly youngDeaths: number;
}

export class RestartPacer {
  private readonly slots = new Map<number, { startedAt: number; youngDeaths: number }>();

  constructor(private readonly now: () => number) {}

  /** A worker was started in slot. */
  started(slot: number): void {
    const s = this.slots.get(slot);
    this.slots.set(slot, { startedAt: this.now(), youngDeaths: s?.youngDeaths ?? 0 });
  }

  /** The worker in slot died: when to start the next. The first young death is replaced at once (a one-off). */
  died(slot: number): Restart {
    const s = this.slots.get(slot) ?? { startedAt: this.now(), youngDeaths: 0 };
    // A clock stepped back reads as no time lived: young, the safe side (a wait, not a loop).
    const livedMs = Math.max(0, this.now() - s.startedAt);
    s.youngDeaths = livedMs < UPTIME_MS ? s.youngDeaths + 1 : 0;
    this.slots.set(slot, s);
    const delayMs = s.youngDeaths < 2 ? 0 : Math.min(MAX_DELAY_MS, 1000 * 2 ** (s.youngDeaths - 2));
    return { delayMs, livedMs, youngDeaths: s.youngDeaths };
  }
}

/**
 * The primary's view of its slots for /readyz: which serve (their worker
 * listens), which are starting, which wait to be started after dying young.
 * Times are wall-clock (for the reader); durations come from RestartPacer.
 */
export class SlotBook {
  private readonly down = new Map<number, WorkersStatus['down'][number]>();

  constructor(
    private readonly of: number,
    private readonly wallNow: () => number,
  ) {
    for (let slot = 1; slot <= of; slot++) this.starting(slot);
  }

  /** A worker was started in slot. */
  starting(slot: number): void {
    this.down.set(slot, { slot, since: this.since(slot), state: 'starting' });
  }

  /** slot's worker listens. */
  serving(slot: number): void {
    this.down.delete(slot);
  }

  /** slot's worker died; the next starts after r.delayMs (0: at once, see starting()). */
  died(slot: number, r: Restart): void {
    if (r.delayMs === 0) {
      this.starting(slot);
      return;
    }
    const nextStart = new Date(this.wallNow() + r.delayMs).toISOString();
    this.down.set(slot, { slot, since: this.since(slot), state: 'waiting', youngDeaths: r.youngDeaths, nextStart });
  }

  status(): WorkersStatus {
    const down = [...this.down.values()].sort((a, b) => a.slot - b.slot);
    return { of: this.of, serving: this.of - down.length, down };
  }

  /** When slot stopped serving: kept while it stays down (a restart that has not listened yet is the same gap). */
  private since(slot: number): string {
    return this.down.get(slot)?.since ?? new Date(this.wallNow()).toISOString();
  }
}
