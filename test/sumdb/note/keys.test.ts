import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AmbiguousVerifierError,
  generateKey,
  KeyFormatError,
  keyHash,
  newEd25519VerifierKey,
  newSigner,
  newVerifier,
  UnknownVerifierError,
  Verifiers,
} from '../../../src/sumdb/note/index.js';
import { loadVectors, prng } from '../tlog/support.js';

const v = loadVectors();
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';

describe('verifier keys', () => {
  it.each(v.note.keys)('$vkey parses and its hash follows keyHash_rule', ({ vkey }) => {
    const verifier = newVerifier(vkey);
    const [name, hash16, key64] = [
      vkey.slice(0, vkey.indexOf('+')),
      ...vkey.slice(vkey.indexOf('+') + 1).split(/\+(.*)/s),
    ];
    const manual = createHash('sha256')
      .update(`${name}\n`)
      .update(Buffer.from(key64 ?? '', 'base64'))
      .digest()
      .readUInt32BE(0);
    expect(verifier.name).toBe(name);
    expect(verifier.keyHash).toBe(Number.parseInt(hash16 ?? '', 16));
    expect(keyHash(name, Buffer.from(key64 ?? '', 'base64'))).toBe(manual);
    expect(verifier.keyHash).toBe(manual);
  });

  it.each(v.note.bad_vkeys)('rejects %s', (vkey) => {
    expect(() => newVerifier(vkey)).toThrow(KeyFormatError);
  });

  it('reports Go’s reasons', () => {
    expect(() => newVerifier(v.note.bad_vkeys[0] ?? '')).toThrow('malformed verifier id');
    expect(() => newVerifier(v.note.bad_vkeys[1] ?? '')).toThrow('unknown verifier algorithm');
    expect(() => newVerifier('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow(
      'invalid verifier hash',
    );
  });

  it('accepts the hash in upper case, as strconv.ParseUint does', () => {
    expect(newVerifier('PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW').keyHash).toBe(0xc74f20a3);
  });

  it('rejects every proper substring and every one-byte-incremented copy of the PeterNeumann vkey', () => {
    const b = Buffer.from(PETER_VKEY, 'latin1');
    let count = 0;
    for (let i = 0; i <= b.length; i++) {
      for (let j = i + 1; j <= b.length; j++) {
        if (i === 0 && j === b.length) continue;
        expect(() => newVerifier(b.subarray(i, j).toString('latin1')), b.subarray(i, j).toString('latin1')).toThrow(
          KeyFormatError,
        );
        count++;
      }
    }
    for (let i = 0; i < b.length; i++) {
      const c = Buffer.from(b);
      c[i] = ((c[i] ?? 0) + 1) & 0xff;
      expect(() => newVerifier(c.toString('latin1')), c.toString('latin1')).toThrow(KeyFormatError);
      count++;
    }
    expect(count).toBe((b.length * (b.length + 1)) / 2 - 1 + b.length);
  });
});

describe('signer keys', () => {
  it.each(v.note.keys.filter((k) => k.skey !== undefined))('$skey pairs with its vkey', ({ skey, vkey }) => {
    const signer = newSigner(skey ?? '');
    const verifier = newVerifier(vkey);
    expect(signer.name).toBe(verifier.name);
    expect(signer.keyHash).toBe(verifier.keyHash);
    const msg = Buffer.from('hi');
    const sig = signer.sign(msg);
    expect(sig).toHaveLength(64);
    expect(verifier.verify(msg, sig)).toBe(true);
    const badSig = Buffer.from(sig);
    badSig[0] = (badSig[0] ?? 0) + 1;
    expect(verifier.verify(msg, badSig)).toBe(false);
    expect(verifier.verify(Buffer.from('hj'), sig)).toBe(false);
    expect(verifier.verify(msg, sig.subarray(0, 63))).toBe(false);
    expect(verifier.verify(msg, Buffer.concat([sig, Buffer.from([0])]))).toBe(false);
  });

  it('rejects every proper substring and every one-byte-incremented copy of the PeterNeumann skey', () => {
    const b = Buffer.from(PETER_SKEY, 'latin1');
    for (let i = 0; i <= b.length; i++) {
      for (let j = i + 1; j <= b.length; j++) {
        if (i === 0 && j === b.length) continue;
        expect(() => newSigner(b.subarray(i, j).toString('latin1'))).toThrow(KeyFormatError);
      }
    }
    for (let i = 0; i < b.length; i++) {
      const c = Buffer.from(b);
      c[i] = ((c[i] ?? 0) + 1) & 0xff;
      expect(() => newSigner(c.toString('latin1'))).toThrow(KeyFormatError);
    }
  });

  it('generateKey with a zero seed reproduces the EnochRoot keys', () => {
    const enoch = v.note.keys[1];
    expect(generateKey('EnochRoot', new Uint8Array(32))).toEqual({ skey: enoch?.skey, vkey: enoch?.vkey });
  });

  it('generated keys are self-consistent and distinct', () => {
    const a = generateKey('example.com/db');
    const b = generateKey('example.com/db');
    expect(a.vkey).not.toBe(b.vkey);
    const s = newSigner(a.skey);
    const ver = newVerifier(a.vkey);
    expect(ver.verify(Buffer.from('x'), s.sign(Buffer.from('x')))).toBe(true);
    expect(() => generateKey('bad name')).toThrow('invalid signer');
    expect(() => generateKey('a+b')).toThrow();
  });

  it('newEd25519VerifierKey builds the vkey of a raw public key', () => {
    const raw = Buffer.from(ENOCH_VKEY.split('+')[2] ?? '', 'base64').subarray(1);
    expect(newEd25519VerifierKey('EnochRoot', raw)).toBe(ENOCH_VKEY);
    expect(() => newEd25519VerifierKey('EnochRoot', raw.subarray(1))).toThrow(
      'invalid public key size 31, expected 32',
    );
  });

  it('key names: spaces of any kind and + are refused, other Unicode is fine', () => {
    const rand = prng(12);
    for (const name of ['a b', 'a\u00a0b', 'a\u2003b', 'a\u3000b', 'a\tb', 'a\u0085b', 'a+b', '', 'a\ud800b']) {
      expect(() => generateKey(name, new Uint8Array(32))).toThrow();
    }
    for (const name of ['ünïcødé', 'a\ufeffb', 'sum.golang.org/x', '\u{1F600}']) {
      const seed = Uint8Array.from({ length: 32 }, () => Math.floor(rand() * 256));
      const { skey, vkey } = generateKey(name, seed);
      expect(newVerifier(vkey).name).toBe(name);
      expect(newSigner(skey).name).toBe(name);
    }
  });
});

describe('Verifiers', () => {
  it('finds by name and hash, and reports unknown and ambiguous keys like Go', () => {
    const peter = newVerifier(PETER_VKEY);
    const enoch = newVerifier(ENOCH_VKEY);
    const list = new Verifiers(peter, enoch, enoch);
    expect(list.verifier('PeterNeumann', 0xc74f20a3)).toBe(peter);
    expect(() => list.verifier('PeterNeumann', 0xc74f20a4)).toThrow(UnknownVerifierError);
    expect(() => list.verifier('PeterNeumann', 0xc74f20a4)).toThrow('unknown key PeterNeumann+c74f20a4');
    expect(() => list.verifier('PeterNeuman', 0xc74f20a3)).toThrow('unknown key PeterNeuman+c74f20a3');
    expect(() => list.verifier('EnochRoot', 0xaf0cfe78)).toThrow(AmbiguousVerifierError);
    expect(() => list.verifier('EnochRoot', 0xaf0cfe78)).toThrow('ambiguous key EnochRoot+af0cfe78');
    expect(() => new Verifiers().verifier('x', 1)).toThrow('unknown key x+00000001');
  });
});
