import { describe, expect, it } from 'vitest';
import {
  InvalidSignatureError,
  MalformedNoteError,
  MismatchedVerifierError,
  newSigner,
  newVerifier,
  openNote,
  signNote,
  UnverifiedNoteError,
  Verifiers,
  type Signer,
  type Verifier,
} from '../../../src/sumdb/note/index.js';
import { loadVectors, prng, randomInt } from '../tlog/support.js';

const v = loadVectors();
const keyByName = new Map(v.note.keys.map((k) => [k.vkey.slice(0, k.vkey.indexOf('+')), k]));
const verifierOf = (name: string): Verifier => newVerifier(keyByName.get(name)?.vkey ?? '');
const signerOf = (name: string): Signer => newSigner(keyByName.get(name)?.skey ?? '');

const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const peter = { name: 'PeterNeumann', hash: 0xc74f20a3, base64: PETER_SIG.slice(15, -1) };
const enoch = { name: 'EnochRoot', hash: 0xaf0cfe78, base64: ENOCH_SIG.slice(12, -1) };
const msg = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('openNote: vector examples', () => {
  const examples = v.note.signed_examples.filter((e) => e.msg !== undefined);
  it('has the 12 runnable examples', () => expect(examples).toHaveLength(12));

  it.each(examples.map((e, i) => ({ ...e, i })))('example $i: $expect', (e) => {
    const known = new Verifiers(...(e.verifiers ?? []).map(verifierOf));
    const run = (): ReturnType<typeof openNote> => openNote(msg(e.msg ?? ''), known);
    if (e.expect === 'ok') {
      const note = run();
      expect(note.sigs.map((s) => s.name)).toEqual(e.sigs);
      expect(note.unverifiedSigs.map((s) => s.name)).toEqual(e.unverified ?? []);
      expect(
        msg(e.msg ?? '')
          .toString()
          .startsWith(note.text + '\n'),
      ).toBe(true);
    } else {
      expect(run).toThrow((e.expect ?? '').replace(/^error: /, ''));
    }
  });

  it('a leading 0xFF byte is a malformed note', () => {
    const bad = Buffer.concat([Buffer.from([0xff]), msg(TEXT + '\n' + PETER_SIG)]);
    expect(() => openNote(bad, new Verifiers(verifierOf('PeterNeumann')))).toThrow(MalformedNoteError);
  });
});

describe('openNote: golang/mod TestOpen', () => {
  const peterV = verifierOf('PeterNeumann');
  const enochV = verifierOf('EnochRoot');

  it('returns text and signatures exactly', () => {
    const n = openNote(msg(TEXT + '\n' + PETER_SIG + ENOCH_SIG), new Verifiers(peterV));
    expect(n).toEqual({ text: TEXT, sigs: [peter], unverifiedSigs: [enoch] });
    const both = openNote(msg(TEXT + '\n' + PETER_SIG + ENOCH_SIG), new Verifiers(peterV, enochV));
    expect(both).toEqual({ text: TEXT, sigs: [peter, enoch], unverifiedSigs: [] });
  });

  it('carries the note in UnverifiedNoteError', () => {
    try {
      openNote(msg(TEXT + '\n' + PETER_SIG + ENOCH_SIG), new Verifiers());
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UnverifiedNoteError);
      expect((err as UnverifiedNoteError).message).toBe('note has no verifiable signatures');
      expect((err as UnverifiedNoteError).note).toEqual({ text: TEXT, sigs: [], unverifiedSigs: [peter, enoch] });
    }
  });

  it('fails on a duplicated verifier only when it is used', () => {
    expect(() => openNote(msg(TEXT + '\n' + ENOCH_SIG), new Verifiers(enochV, peterV, enochV))).toThrow(
      'ambiguous key EnochRoot+af0cfe78',
    );
    expect(openNote(msg(TEXT + '\n' + PETER_SIG), new Verifiers(enochV, peterV, enochV)).sigs).toEqual([peter]);
  });

  it('allows 100 signatures, not 101, verified or not', () => {
    expect(openNote(msg(TEXT + '\n' + PETER_SIG.repeat(100)), new Verifiers(peterV)).sigs).toEqual([peter]);
    expect(() => openNote(msg(TEXT + '\n' + PETER_SIG.repeat(101)), new Verifiers(peterV))).toThrow(MalformedNoteError);
    expect(() => openNote(msg(TEXT + '\n' + PETER_SIG.repeat(101)), new Verifiers())).toThrow(MalformedNoteError);
  });

  it('rejects an invalid signature by a known key', () => {
    const bad = PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(60);
    expect(() => openNote(msg(TEXT + '\n' + bad), new Verifiers(peterV))).toThrow(InvalidSignatureError);
    expect(() => openNote(msg(TEXT + '\n' + bad), new Verifiers(peterV))).toThrow(
      'invalid signature for key PeterNeumann+c74f20a3',
    );
  });

  it('drops duplicate verified and unverified signatures', () => {
    const enochABCD = ENOCH_SIG.slice(0, 60) + 'ABCD' + ENOCH_SIG.slice(60);
    const n = openNote(
      msg(TEXT + '\n' + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enochABCD),
      new Verifiers(peterV),
    );
    expect(n.sigs).toEqual([peter]);
    expect(n.unverifiedSigs).toEqual([
      enoch,
      { ...enoch, base64: enoch.base64.slice(0, 48) + 'ABCD' + enoch.base64.slice(48) },
    ]);
  });

  it.each([
    ['text only', TEXT],
    ['no signatures', TEXT + '\n'],
    ['unterminated signature', TEXT + '\n' + PETER_SIG.slice(0, -1)],
    ['control character', '\x01' + TEXT + '\n' + PETER_SIG],
    ['CR', TEXT.replace('\n', '\r\n') + '\n' + PETER_SIG],
    [
      'bad name',
      TEXT +
        '\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=',
    ],
    ['unexpected line', TEXT + '\n' + PETER_SIG + 'Unexpected line.\n'],
    ['hyphen instead of em dash', TEXT + '\n' + PETER_SIG.replace('—', '-')],
    ['no space after name', TEXT + '\n— PeterNeumann\n'],
    ['empty signature', TEXT + '\n— PeterNeumann \n'],
    ['4-byte signature', TEXT + '\n— PeterNeumann x08go/==\n'],
    ['unpadded base64', TEXT + '\n' + PETER_SIG.replace('=\n', '\n')],
    ['plus in name', TEXT + '\n' + PETER_SIG.replace('PeterNeumann', 'Peter+Neumann')],
  ])('rejects %s as malformed', (_name, m) => {
    expect(() => openNote(msg(m), new Verifiers(peterV))).toThrow(MalformedNoteError);
  });

  it('rejects a lookup that returns a verifier for another name or hash', () => {
    const fixed = { verifier: (): Verifier => peterV };
    expect(() => openNote(msg(TEXT + '\n' + PETER_SIG.replaceAll('PeterNeumann', 'CarmenSandiego')), fixed)).toThrow(
      MismatchedVerifierError,
    );
    expect(() => openNote(msg(TEXT + '\n' + PETER_SIG.replaceAll('x08g', 'xxxx')), fixed)).toThrow(
      "verifier name or hash doesn't match signature",
    );
  });

  it('passes other lookup errors through', () => {
    const failing = {
      verifier: (): Verifier => {
        throw new Error('surprise!');
      },
    };
    expect(() => openNote(msg(TEXT + '\n' + PETER_SIG), failing)).toThrow('surprise!');
  });

  it('keeps a leading byte-order mark in the text', () => {
    const signer = signerOf('PeterNeumann');
    const signed = signNote({ text: '\ufeffhello\n' }, signer);
    expect(openNote(signed, new Verifiers(peterV)).text).toBe('\ufeffhello\n');
  });
});

describe('signNote: golang/mod TestSign', () => {
  const signer = signerOf('PeterNeumann');
  const want = TEXT + '\n' + PETER_SIG;

  it('produces the PeterNeumann signature byte for byte', () => {
    expect(signNote({ text: TEXT }, signer).toString()).toBe(want);
  });

  it('replaces an existing signature by the same key', () => {
    expect(
      signNote(
        { text: TEXT, sigs: [{ name: 'PeterNeumann', hash: 0xc74f20a3, base64: 'BADSIGN=' }] },
        signer,
      ).toString(),
    ).toBe(want);
  });

  it('keeps other signatures first, verified then unverified', () => {
    const enochSigner = signerOf('EnochRoot');
    const n = openNote(signNote({ text: TEXT }, signer), new Verifiers(verifierOf('PeterNeumann')));
    expect(signNote(n, enochSigner).toString()).toBe(TEXT + '\n' + PETER_SIG + ENOCH_SIG);
    expect(signNote({ text: TEXT, unverifiedSigs: [enoch], sigs: [peter] }).toString()).toBe(
      TEXT + '\n' + PETER_SIG + ENOCH_SIG,
    );
  });

  it('rejects bad inputs with Go’s errors', () => {
    expect(() => signNote({ text: 'abc' }, signer)).toThrow('malformed note');
    expect(() => signNote({ text: TEXT, sigs: [{ name: 'a+b', hash: 0, base64: 'ABCD' }] })).toThrow('malformed note');
    expect(() =>
      signNote({ text: TEXT, sigs: [{ name: 'PeterNeumann', hash: 0xc74f20a3, base64: 'BADHASH=' }] }),
    ).toThrow('malformed note');
    const badName: Signer = { name: 'bad name', keyHash: signer.keyHash, sign: (m) => signer.sign(m) };
    expect(() => signNote({ text: TEXT }, badName)).toThrow('invalid signer');
    const failing: Signer = {
      name: signer.name,
      keyHash: signer.keyHash,
      sign: () => {
        throw new Error('surprise!');
      },
    };
    expect(() => signNote({ text: TEXT }, failing)).toThrow('surprise!');
  });

  it('round-trips random texts signed by both keys', () => {
    const rand = prng(13);
    const pieces = ['a', 'Z', ' ', '—', 'é', '\u{1F600}', '\n', '+', '='];
    const both = new Verifiers(verifierOf('PeterNeumann'), verifierOf('EnochRoot'));
    for (let i = 0; i < 100; i++) {
      let text = '';
      for (let j = randomInt(rand, 0, 30); j > 0; j--) text += pieces[randomInt(rand, 0, pieces.length - 1)];
      text += i % 3 === 0 ? '\n\n' : '\n'; // blank lines in the text are fine: the split is at the last one
      const signed = signNote({ text }, signer, signerOf('EnochRoot'));
      const n = openNote(signed, both);
      expect(n.text).toBe(text);
      expect(n.sigs.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
      const tampered = Buffer.concat([Buffer.from('x'), signed]);
      expect(() => openNote(tampered, both)).toThrow(InvalidSignatureError);
    }
  });
});
