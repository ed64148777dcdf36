// What the HTTP layer needs from a checksum-database mirror: the mirror itself.
import type { SumdbMirror } from '../sumdb/mirror.js';

export type { SumdbAnswer, SumdbStatus } from '../sumdb/mirror.js';

export type SumdbEndpoint = Pick<SumdbMirror, 'name' | 'serve' | 'status'> & Partial<Pick<SumdbMirror, 'syncShared'>>;
