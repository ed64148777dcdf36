// Standard base64 decoding with the acceptance rules of Go's
// base64.StdEncoding.DecodeString, which every tlog parser uses:
// padding is required, only the standard alphabet is allowed, and
// '\r' and '\n' anywhere in the input are ignored. Like Go (without
// .Strict()), non-zero bits in the final partial quantum are accepted.
// Buffer.from(s, 'base64') alone is far more lenient (URL alphabet,
// missing padding, junk), so the shape is checked first.

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes std base64 the way Go does, or returns null when Go would fail. */
export function decodeStdBase64(s: string): Buffer | null {
  const compact = s.includes('\r') || s.includes('\n') ? s.replace(/[\r\n]/g, '') : s;
  if (!STD_BASE64.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}
