// Verifier and signer keys of signed notes. A verifier key is
// "<name>+<hash>+<base64(0x01 || ed25519 public key)>", a signer key is
// "PRIVATE+KEY+<name>+<hash>+<base64(0x01 || ed25519 seed)>", and <hash> is
// keyHash(name, 0x01 || public key) as 8 hex digits.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { hex8, InvalidSignerError, KeyFormatError } from './errors.js';

/** Verifies signatures by one key. */
export interface Verifier {
  readonly name: string;
  readonly keyHash: number;
  /** Reports whether sig is a valid signature of msg by this key. */
  verify(msg: Uint8Array, sig: Uint8Array): boolean;
}

/** Signs with one key. */
export interface Signer {
  readonly name: string;
  readonly keyHash: number;
  sign(msg: Uint8Array): Buffer;
}

const ALG_ED25519 = 1;
const ED25519_KEY_SIZE = 32;
const ED25519_SIG_SIZE = 64;
// DER prefixes that wrap a raw 32-byte Ed25519 key for node:crypto.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

// Go's unicode.IsSpace: the Latin-1 spaces plus the White_Space property.
const GO_SPACE = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const HEX8 = /^[0-9a-fA-F]{8}$/;

/** A key name is non-empty, well-formed, without Unicode spaces or '+'. */
export function isValidName(name: string): boolean {
  return name !== '' && !LONE_SURROGATE.test(name) && !GO_SPACE.test(name) && !name.includes('+');
}

/** The key hash: the first 4 bytes, big-endian, of SHA-256(name || '\n' || keyData). */
export function keyHash(name: string, keyData: Uint8Array): number {
  return createHash('sha256').update(name, 'utf8').update('\n').update(keyData).digest().readUInt32BE(0);
}

/** Parses a verifier key; throws KeyFormatError with Go's reason text. */
export function newVerifier(vkey: string): Verifier {
  const [name, rest] = chop(vkey);
  const [hash16, key64] = chop(rest);
  const key = decodeStdBase64(key64);
  if (!HEX8.test(hash16) || key === null || !isValidName(name) || key.length === 0) {
    throw new KeyFormatError('malformed verifier id');
  }
  const hash = Number.parseInt(hash16, 16);
  if (hash !== keyHash(name, key)) throw new KeyFormatError('invalid verifier hash');
  if (key[0] !== ALG_ED25519) throw new KeyFormatError('unknown verifier algorithm');
  const publicKey = key.subarray(1);
  if (publicKey.length !== ED25519_KEY_SIZE) throw new KeyFormatError('malformed verifier id');
  return ed25519Verifier(name, hash, publicKey);
}

/** Parses a signer key; throws KeyFormatError with Go's reason text. */
export function newSigner(skey: string): Signer {
  const [priv1, rest1] = chop(skey);
  const [priv2, rest2] = chop(rest1);
  const [name, rest3] = chop(rest2);
  const [hash16, key64] = chop(rest3);
  const key = decodeStdBase64(key64);
  if (
    priv1 !== 'PRIVATE' ||
    priv2 !== 'KEY' ||
    !HEX8.test(hash16) ||
    key === null ||
    !isValidName(name) ||
    key.length === 0
  ) {
    throw new KeyFormatError('malformed verifier id');
  }
  if (key[0] !== ALG_ED25519) throw new KeyFormatError('unknown verifier algorithm');
  const seed = key.subarray(1);
  if (seed.length !== ED25519_KEY_SIZE) throw new KeyFormatError('malformed verifier id');
  const privateKey = ed25519PrivateKey(seed);
  // The hash names the public key, so it can only be checked after deriving it.
  const hash = Number.parseInt(hash16, 16);
  if (hash !== keyHash(name, encodedPublicKey(privateKey))) throw new KeyFormatError('invalid verifier hash');
  return {
    name,
    keyHash: hash,
    sign: (msg) => sign(null, msg, privateKey),
  };
}

/**
 * A new signer key and its verifier key for the named server. The seed
 * (32 bytes) defaults to fresh randomness; pass one only for reproducible tests.
 */
export function generateKey(
  name: string,
  seed: Uint8Array = randomBytes(ED25519_KEY_SIZE),
): { skey: string; vkey: string } {
  if (!isValidName(name)) throw new InvalidSignerError();
  if (seed.length !== ED25519_KEY_SIZE) throw new RangeError(`note: ed25519 seed must be ${ED25519_KEY_SIZE} bytes`);
  const pub = encodedPublicKey(ed25519PrivateKey(seed));
  const hash = hex8(keyHash(name, pub));
  const priv = Buffer.concat([Buffer.from([ALG_ED25519]), seed]).toString('base64');
  return {
    skey: `PRIVATE+KEY+${name}+${hash}+${priv}`,
    vkey: `${name}+${hash}+${pub.toString('base64')}`,
  };
}

/** The verifier key for a raw 32-byte Ed25519 public key. */
export function newEd25519VerifierKey(name: string, publicKey: Uint8Array): string {
  if (publicKey.length !== ED25519_KEY_SIZE) {
    throw new RangeError(`invalid public key size ${publicKey.length}, expected ${ED25519_KEY_SIZE}`);
  }
  const pub = Buffer.concat([Buffer.from([ALG_ED25519]), publicKey]);
  return `${name}+${hex8(keyHash(name, pub))}+${pub.toString('base64')}`;
}

function ed25519Verifier(name: string, hash: number, publicKey: Uint8Array): Verifier {
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
  } catch {
    key = null; // not a curve point: like Go, the key parses but verifies nothing
  }
  return {
    name,
    keyHash: hash,
    verify(msg, sig) {
      if (key === null || sig.length !== ED25519_SIG_SIZE) return false;
      try {
        return verify(null, msg, key, sig);
      } catch {
        return false;
      }
    },
  };
}

function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

// 0x01 || the 32-byte public key of privateKey.
function encodedPublicKey(privateKey: KeyObject): Buffer {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return Buffer.concat([Buffer.from([ALG_ED25519]), spki.subarray(SPKI_ED25519_PREFIX.length)]);
}

// Splits s at the first '+': [before, after], or [s, ''] without one.
function chop(s: string): [string, string] {
  const i = s.indexOf('+');
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

/**
 * base64.StdEncoding.DecodeString, as Go's note package decodes keys and
 * signatures: padding required, standard alphabet only, '\r' and '\n'
 * ignored (Buffer.from alone accepts far more). null when Go would fail.
 * sumdb/tlog decodes hashes by the same rules with its own copy: neither
 * package may import the other.
 */
export function decodeStdBase64(s: string): Buffer | null {
  const compact = s.replace(/[\r\n]/g, '');
  const ok = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact);
  return ok ? Buffer.from(compact, 'base64') : null;
}
