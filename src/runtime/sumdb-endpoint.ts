// Adapts a SumdbMirror to what the HTTP layer serves.
import type { SumdbEndpoint } from '../server/sumdb-endpoint.js';
import type { SumdbMirror } from '../sumdb/index.js';

export function toSumdbEndpoint(m: SumdbMirror): SumdbEndpoint {
  return {
    name: m.name,
    serve: (sub, signal) => m.serve(sub, signal),
    status: () => m.status(),
  };
}
