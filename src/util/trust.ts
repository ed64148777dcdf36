// What a TLS failure to reach a server means when its certificate leads to
// no CA godepot trusts, shared by every kind of connection godepot makes
// (upstreams, checksum databases, the object store, Redis).
import type { SecureContext } from 'node:tls';
import { codesOf } from './error-codes.js';

/** Connect options for TLS trust as the go command's: { secureContext } when roots.ts adds certificates, else none. */
export interface TrustOptions {
  readonly secureContext?: SecureContext;
}

/** OpenSSL's codes for a certificate chain that leads to no trusted CA (a private CA, a TLS-intercepting proxy). */
const UNTRUSTED_CODE =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_UNTRUSTED)/;

/** What to do about an untrusted certificate: appended to the error that reports one. */
export const UNTRUSTED_FIX =
  "signed by a CA godepot does not trust (it trusts Node's list and the system's, as the go command does); add the CA to the system's store, or name it with SSL_CERT_FILE or NODE_EXTRA_CA_CERTS";

/** OpenSSL's words when the other end of a TLS handshake answers in plain HTTP (every kind of connection). */
export const PLAIN_HTTP_ANSWER = /wrong version number|packet length too long|http request/i;

/** Whether err (or one of its causes) says the server's certificate leads to no trusted CA. */
export function isUntrusted(err: unknown): boolean {
  return codesOf(err).some((c) => UNTRUSTED_CODE.test(c));
}
