// Reading a JSON object the way Go's encoding/json fills a struct, for the
// answers the go command decodes (.info, @latest): JSON.parse loses what
// decides Go's verdict — a value's raw text (time.Time parses it without
// unescaping), every occurrence of a repeated key (Go decodes each; one of the
// wrong type fails the whole answer), and how deep the text nests (Go stops
// at 10,000). Pure: text in, values out.

/** encoding/json's limit on nesting; deeper text is an error there. */
export const GO_MAX_DEPTH = 10_000;

/** A JSON key as Go's encoding/json matches it to a field name (ASCII case, and ſ and K as s and k). */
export function goFold(key: string): string {
  return key
    .replace(/[a-z]/g, (c) => c.toUpperCase())
    .replace(/\u017f/g, 'S')
    .replace(/\u212a/g, 'K');
}

/** One member of an object: its key (decoded) and its value's text as it stands in the answer. */
export interface RawMember {
  readonly key: string;
  readonly raw: string;
}

/**
 * The members of the object `text` is, in order, repeated keys included, and
 * how deep the whole text nests. `text` must be valid JSON (JSON.parse
 * accepted it) whose value is an object.
 */
export function rawMembers(text: string): { members: RawMember[]; depth: number } {
  const members: RawMember[] = [];
  let depth = 0;
  let deepest = 0;
  let key: string | null = null;
  let valueStart = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      // A key of the top object: a string at depth 1 where no value is open.
      if (depth === 1 && key === null) key = JSON.parse(text.slice(start, i + 1)) as string;
      continue;
    }
    if (c === '{' || c === '[') deepest = Math.max(deepest, ++depth);
    else if (c === '}' || c === ']') depth--;
    if (depth === 1 && c === ':') valueStart = i + 1;
    // A member ends at a comma of the top object, or at its closing brace.
    if (key !== null && valueStart >= 0 && ((depth === 1 && c === ',') || (depth === 0 && c === '}'))) {
      members.push({ key, raw: text.slice(valueStart, i).trim() });
      key = null;
      valueStart = -1;
    }
  }
  return { members, depth: deepest };
}

/**
 * The members of an object matching fields (Go's names), each at most once:
 * a field given twice (in any spelling Go folds to it) is refused, as Go
 * would decode both and a wrong first one fails the answer. Returns a
 * problem in words, or the raw value of each field present.
 */
export function goFields<F extends string>(
  members: readonly RawMember[],
  fields: readonly F[],
): Partial<Record<F, string>> | string {
  const byFold = new Map(fields.map((f) => [goFold(f), f] as const));
  const found: Partial<Record<F, string>> = {};
  const spelled: Partial<Record<F, string>> = {};
  for (const m of members) {
    const field = byFold.get(goFold(m.key));
    if (field === undefined) continue;
    const other = spelled[field];
    if (other !== undefined)
      return other === m.key
        ? `it gives ${JSON.stringify(m.key)} twice`
        : `it has both ${JSON.stringify(other)} and ${JSON.stringify(m.key)}, which the go command reads as one field`;
    spelled[field] = m.key;
    found[field] = m.raw;
  }
  return found;
}
