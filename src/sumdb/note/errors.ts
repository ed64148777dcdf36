// Typed errors of the note package; messages are golang.org/x/mod/sumdb/note's.
import type { Note } from './note.js';

const hex8 = (hash: number): string => (hash >>> 0).toString(16).padStart(8, '0');

/** Why a verifier or signer key string was rejected. */
export type KeyErrorReason = 'malformed verifier id' | 'unknown verifier algorithm' | 'invalid verifier hash';

/**
 * A verifier key ('name+hash+keydata') or signer key ('PRIVATE+KEY+…') that
 * cannot be used. Go reports signer keys with the same three texts.
 */
export class KeyFormatError extends Error {
  constructor(readonly reason: KeyErrorReason) {
    super(reason);
    this.name = 'KeyFormatError';
  }
}

/** A note that is not well-formed (encoding, layout, or more than 100 signatures). */
export class MalformedNoteError extends Error {
  constructor() {
    super('malformed note');
    this.name = 'MalformedNoteError';
  }
}

/** No verifier is known for this (name, key hash). openNote keeps such signatures as unverified. */
export class UnknownVerifierError extends Error {
  constructor(
    readonly keyName: string,
    readonly keyHash: number,
  ) {
    super(`unknown key ${keyName}+${hex8(keyHash)}`);
    this.name = 'UnknownVerifierError';
  }
}

/** More than one verifier was registered for this (name, key hash). */
export class AmbiguousVerifierError extends Error {
  constructor(
    readonly keyName: string,
    readonly keyHash: number,
  ) {
    super(`ambiguous key ${keyName}+${hex8(keyHash)}`);
    this.name = 'AmbiguousVerifierError';
  }
}

/** A known key's signature that does not verify: the note was altered or forged. */
export class InvalidSignatureError extends Error {
  constructor(
    readonly keyName: string,
    readonly keyHash: number,
  ) {
    super(`invalid signature for key ${keyName}+${hex8(keyHash)}`);
    this.name = 'InvalidSignatureError';
  }
}

/** A well-formed note none of whose signatures is from a known key; the note is attached. */
export class UnverifiedNoteError extends Error {
  constructor(readonly note: Note) {
    super('note has no verifiable signatures');
    this.name = 'UnverifiedNoteError';
  }
}

/** The Verifiers lookup returned a verifier for a different name or key hash. */
export class MismatchedVerifierError extends Error {
  constructor() {
    super("verifier name or hash doesn't match signature");
    this.name = 'MismatchedVerifierError';
  }
}

/** A signer whose name is not a valid key name. */
export class InvalidSignerError extends Error {
  constructor() {
    super('invalid signer');
    this.name = 'InvalidSignerError';
  }
}

export { hex8 }; // for keys.ts; not part of the package API
