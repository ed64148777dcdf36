// Signed notes: a text ending in '\n', a blank line, then one or more lines
// "— <name> <base64(keyhash[4] || signature)>\n". openNote verifies with the
// known keys; signNote produces byte-identical output to golang.org/x/mod.
import { isUtf8 } from 'node:buffer';
import {
  InvalidSignatureError,
  InvalidSignerError,
  MalformedNoteError,
  MismatchedVerifierError,
  UnknownVerifierError,
  UnverifiedNoteError,
} from './errors.js';
import { decodeStdBase64, isValidName, type Signer, type Verifier } from './keys.js';

/** One signature line of a note, verified or not. */
export interface Signature {
  readonly name: string;
  readonly hash: number;
  /** base64(keyhash[4] || signature bytes), as it appears in the note. */
  readonly base64: string;
}

/** A note's text with its verified and unverified signatures. */
export interface Note {
  readonly text: string;
  readonly sigs: Signature[];
  readonly unverifiedSigs: Signature[];
}

/** What openNote needs from a set of keys; Verifiers implements it. */
export interface VerifierLookup {
  /** Throws UnknownVerifierError for an unknown key; any other error aborts openNote. */
  verifier(name: string, hash: number): Verifier;
}

const MAX_SIGNATURES = 100;
const NEWLINE = 0x0a;
const SIG_PREFIX = Buffer.from('— '); // U+2014 EM DASH, space
const utf8Text = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Parses msg and verifies its signatures against the known keys. Signatures
 * by unknown keys are kept in unverifiedSigs (identical lines once); a known
 * key's bad signature throws InvalidSignatureError; a note with no verified
 * signature throws UnverifiedNoteError, which carries the parsed note.
 */
export function openNote(msg: Uint8Array, known: VerifierLookup): Note {
  const buf = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  // Valid UTF-8 with no control characters but '\n'. Bytes of multi-byte
  // sequences are >= 0x80, so a byte scan finds exactly the control runes.
  for (const b of buf) if (b < 0x20 && b !== NEWLINE) throw new MalformedNoteError();
  if (!isUtf8(buf)) throw new MalformedNoteError();

  // The signature block follows the last blank line.
  const split = buf.lastIndexOf('\n\n');
  if (split < 0) throw new MalformedNoteError();
  const text = buf.subarray(0, split + 1);
  let sigs = buf.subarray(split + 2);
  if (sigs.length === 0 || sigs[sigs.length - 1] !== NEWLINE) throw new MalformedNoteError();

  const note: Note = { text: utf8Text.decode(text), sigs: [], unverifiedSigs: [] };
  const seen = new Set<string>();
  const seenUnverified = new Set<string>();
  let numSig = 0;
  while (sigs.length > 0) {
    const nl = sigs.indexOf(NEWLINE);
    const lineBytes = sigs.subarray(0, nl);
    sigs = sigs.subarray(nl + 1);
    if (!lineBytes.subarray(0, SIG_PREFIX.length).equals(SIG_PREFIX)) throw new MalformedNoteError();
    const line = lineBytes.subarray(SIG_PREFIX.length).toString('utf8');
    const space = line.indexOf(' ');
    const name = space < 0 ? line : line.slice(0, space);
    const b64 = space < 0 ? '' : line.slice(space + 1);
    const raw = decodeStdBase64(b64);
    if (raw === null || !isValidName(name) || b64 === '' || raw.length < 5) throw new MalformedNoteError();
    const hash = raw.readUInt32BE(0);
    const sig = raw.subarray(4);

    // Bound the work a hostile note can cause.
    if (++numSig > MAX_SIGNATURES) throw new MalformedNoteError();

    let v: Verifier;
    try {
      v = known.verifier(name, hash);
    } catch (err) {
      if (!(err instanceof UnknownVerifierError)) throw err;
      if (!seenUnverified.has(line)) {
        seenUnverified.add(line);
        note.unverifiedSigs.push({ name, hash, base64: b64 });
      }
      continue;
    }
    if (v.name !== name || v.keyHash !== hash) throw new MismatchedVerifierError();

    const id = `${hash}\n${name}`;
    if (seen.has(id)) continue; // repeated signatures by one key count once
    seen.add(id);
    if (!v.verify(text, sig)) throw new InvalidSignatureError(name, hash);
    note.sigs.push({ name, hash, base64: b64 });
  }

  if (note.sigs.length === 0) throw new UnverifiedNoteError(note);
  return note;
}

/**
 * Encodes the note signed by each signer. Existing signatures (verified
 * first, then unverified) are kept before the new ones, except those by a
 * key that signs again now.
 */
export function signNote(
  note: { readonly text: string; readonly sigs?: readonly Signature[]; readonly unverifiedSigs?: readonly Signature[] },
  ...signers: Signer[]
): Buffer {
  if (!note.text.endsWith('\n')) throw new MalformedNoteError();
  const text = Buffer.from(note.text, 'utf8');

  const have = new Set<string>();
  const newLines: string[] = [];
  for (const s of signers) {
    have.add(`${s.keyHash}\n${s.name}`);
    if (!isValidName(s.name)) throw new InvalidSignerError();
    const sig = s.sign(text);
    const hashBytes = Buffer.alloc(4);
    hashBytes.writeUInt32BE(s.keyHash >>> 0);
    newLines.push(`— ${s.name} ${Buffer.concat([hashBytes, sig]).toString('base64')}\n`);
  }

  const oldLines: string[] = [];
  for (const sig of [...(note.sigs ?? []), ...(note.unverifiedSigs ?? [])]) {
    if (!isValidName(sig.name)) throw new MalformedNoteError();
    if (have.has(`${sig.hash}\n${sig.name}`)) continue;
    // The hash must agree with the one inside the base64 signature.
    const raw = decodeStdBase64(sig.base64);
    if (raw === null || raw.length < 4 || raw.readUInt32BE(0) !== sig.hash) throw new MalformedNoteError();
    oldLines.push(`— ${sig.name} ${sig.base64}\n`);
  }

  return Buffer.concat([text, Buffer.from('\n' + oldLines.join('') + newLines.join(''), 'utf8')]);
}
