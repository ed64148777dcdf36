// golang.org/x/mod/sumdb/note in TypeScript: signed notes and their keys
// (Ed25519 through node:crypto).
export {
  AmbiguousVerifierError,
  InvalidSignatureError,
  InvalidSignerError,
  KeyFormatError,
  MalformedNoteError,
  MismatchedVerifierError,
  UnknownVerifierError,
  UnverifiedNoteError,
  type KeyErrorReason,
} from './errors.js';
export {
  keyHash,
  isValidName,
  newVerifier,
  newSigner,
  generateKey,
  newEd25519VerifierKey,
  type Verifier,
  type Signer,
} from './keys.js';
export { Verifiers } from './verifiers.js';
export { openNote, signNote, type Note, type Signature, type VerifierLookup } from './note.js';
