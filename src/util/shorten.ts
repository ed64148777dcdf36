// Long texts cut for one line of a report or a table: what someone else said
// (an upstream's or a godepot's answer, an incident's detail) may run to
// kilobytes. A cut never splits a word — a URL or a module path cut in two
// reads as another one — and leaves out the middle, not the end: the start
// says what happened, and godepot's own messages end with what to do.

/** The mark where words were left out. */
const ELIDED = '…';

/**
 * text in at most max characters: whole words from its start and from its
 * end, the middle left out as " … ". A word is kept whole or left out whole;
 * only a text whose first and last words are each too long for the room
 * (a stranger's page of one token) is cut inside a word. Runs of white
 * space read as one space.
 */
export function shorten(text: string, max: number): string {
  const words = text.trim().split(/\s+/);
  const whole = words.join(' ');
  if (whole.length <= max) return whole;
  const room = max - ` ${ELIDED} `.length;
  // The end first, up to half the room, then the start fills the rest.
  const tail: string[] = [];
  let tailLength = 0;
  for (let i = words.length - 1; i > 0; i--) {
    const w = words[i] as string;
    if (tailLength + w.length + 1 > room / 2) break;
    tail.unshift(w);
    tailLength += w.length + 1;
  }
  const head: string[] = [];
  let headLength = 0;
  for (let i = 0; i < words.length - tail.length; i++) {
    const w = words[i] as string;
    if (headLength + w.length + 1 > room - tailLength) break;
    head.push(w);
    headLength += w.length + 1;
  }
  if (head.length === 0 && tail.length === 0) {
    // Not between the two halves of a character outside the BMP (an emoji): a lone half is sent as U+FFFD.
    const cut = max - ELIDED.length;
    return whole.slice(0, /[\ud800-\udbff]/.test(whole[cut - 1] ?? '') ? cut - 1 : cut) + ELIDED;
  }
  return [...head, ELIDED, ...tail].join(' ');
}

/**
 * The first line of text that is not blank (someone's error answer: what
 * went wrong comes first), trimmed, with what is not printable ASCII as '?'
 * (for a log line or a one-line message), shortened to max (shorten).
 */
export function firstLine(text: string, max: number): string {
  const line =
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? '';
  return shorten(line.replace(/[^\x20-\x7e]/g, '?'), max);
}
