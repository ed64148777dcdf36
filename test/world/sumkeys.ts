// Keys of the fake checksum database: the golang/mod test key by default, or
// a generated one; and the impostor that signs under the same name and key
// hash with a different private key (the badSignature fault).
import { generateKey, newSigner, signNote, type Signer } from '../../src/sumdb/note/index.js';

export interface SumDbKey {
  /** `PRIVATE+KEY+<name>+<hash>+<base64>` */
  skey: string;
  /** `<name>+<hash>+<base64>`: what GOSUMDB names. */
  vkey: string;
}

/** The key golang/mod's and cmd/go's tests use (PROTOCOL.md §2.6). */
export const TEST_KEY: SumDbKey = {
  skey: 'PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk',
  vkey: 'localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6',
};

export const TEST_KEY_NAME = 'localhost.localdev/sumdb';

export interface SumDbSigners {
  readonly name: string;
  readonly key: SumDbKey;
  /** A signed note of text (which must end in '\n'). */
  sign(text: string): Buffer;
  /** The same, but the signature is made by another key that claims this key's name and hash. */
  forge(text: string): Buffer;
}

export function makeSigners(key: SumDbKey | 'generate', name: string = TEST_KEY_NAME): SumDbSigners {
  const pair = key === 'generate' ? generateKey(name) : key;
  const signer = newSigner(pair.skey);
  const other = newSigner(generateKey(signer.name).skey);
  const impostor: Signer = { name: signer.name, keyHash: signer.keyHash, sign: (msg) => other.sign(msg) };
  return {
    name: signer.name,
    key: pair,
    sign: (text) => Buffer.from(signNote({ text }, signer)),
    forge: (text) => Buffer.from(signNote({ text }, impostor)),
  };
}
