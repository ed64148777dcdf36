export {
  SumdbMirror,
  type SumdbMirrorOptions,
  type SumdbAnswer,
  type SumdbStatus,
  type CacheOutcome,
} from './mirror.js';
export { HEAD_UNCHECKED, SumdbError, type SumdbErrorKind } from './errors.js';
export type { SumdbRemote, RemoteResult } from './remote.js';
export type { ForkEvidence, TreeEvents, VerifiedHead } from './tree-state.js';
export { SumdbStore } from './store.js';
export { parseSumdbRequest, sumdbRoute, type SumdbRequest, type SumdbRoute } from './request.js';
