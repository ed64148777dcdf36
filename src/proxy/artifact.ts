// What the service hands the HTTP layer: bytes (in memory or an open stored
// blob) plus everything a response header needs.
import type { CacheOutcome } from '../sumdb/mirror.js';
import type { OpenBlob, BlobInfo } from '../storage/index.js';
import type { ArtifactKind } from './request.js';

export type Verification = 'verified' | 'unverified' | 'quorum' | 'skipped' | 'n/a';
/**
 * Served without proof from the checksum database (kept while it was
 * unreachable, or vouched for only by agreeing proxies): stored apart from
 * verified artifacts, never cached in memory or by clients.
 */
export function isProvisional(v: Verification): boolean {
  return v === 'unverified' || v === 'quorum';
}

/**
 * Where an artifact is kept: under mod/ only what the checksum database
 * vouched for (and .info, which no database covers); anything stored without
 * a verdict — kept while the database was unreachable, vouched for by agreeing
 * proxies, or not looked up because no database applies to it — goes to the
 * unverified area. So a later configuration that does check a module never
 * takes a copy nobody checked for a verified one: it re-verifies it first.
 */
export function storedArea(v: Verification): 'mod' | 'unverified' {
  return v === 'verified' || v === 'n/a' ? 'mod' : 'unverified';
}

export type { CacheOutcome };

export interface Artifact {
  readonly kind: ArtifactKind;
  readonly contentType: string;
  readonly size: number;
  /** An OpenBlob must be closed by whoever serves it. */
  readonly body: Buffer | OpenBlob;
  /** Strong validator for If-None-Match / If-Range; absent for bytes that are not kept. */
  readonly etag?: string;
  readonly immutable: boolean;
  readonly verification: Verification;
  readonly cache: CacheOutcome;
  readonly upstream?: { readonly url: string; readonly ms: number };
}

export const CONTENT_TYPES: Record<ArtifactKind, string> = {
  list: 'text/plain; charset=utf-8',
  latest: 'application/json',
  info: 'application/json',
  mod: 'text/plain; charset=utf-8',
  zip: 'application/zip',
};

/** The same validator for the same stored file whichever process or cache serves it (size and write time, as nginx does). */
export function etagOf(info: BlobInfo): string {
  return `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
}

export function isBlob(body: Buffer | OpenBlob): body is OpenBlob {
  return !Buffer.isBuffer(body);
}
