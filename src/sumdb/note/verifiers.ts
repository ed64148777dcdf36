// The set of keys a reader of notes trusts.
import { AmbiguousVerifierError, UnknownVerifierError } from './errors.js';
import type { Verifier } from './keys.js';

/** Known verifiers, looked up by (name, key hash). */
export class Verifiers {
  private readonly byKey = new Map<string, Verifier[]>();

  constructor(...verifiers: Verifier[]) {
    for (const v of verifiers) {
      const k = Verifiers.key(v.name, v.keyHash);
      const list = this.byKey.get(k);
      if (list) list.push(v);
      else this.byKey.set(k, [v]);
    }
  }

  /**
   * The verifier for (name, hash). Throws UnknownVerifierError when there is
   * none and AmbiguousVerifierError when more than one was registered.
   */
  verifier(name: string, hash: number): Verifier {
    const list = this.byKey.get(Verifiers.key(name, hash));
    const first = list?.[0];
    if (list === undefined || first === undefined) throw new UnknownVerifierError(name, hash);
    if (list.length > 1) throw new AmbiguousVerifierError(name, hash);
    return first;
  }

  private static key(name: string, hash: number): string {
    return `${hash >>> 0}\n${name}`;
  }
}
