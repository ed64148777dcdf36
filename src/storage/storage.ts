// The storage contract every backend implements (fs is the default, memory is
// for tests). It is deliberately small: keyed blobs, written atomically, read
// whole or as a stream. Keys are relative slash-separated paths built by the
// layers above from already-validated values; backends still refuse any key
// that could name something outside their root (see checkKey).
import type { Readable } from 'node:stream';

export interface BlobInfo {
  readonly size: number;
  /**
   * Last write time (ms since epoch): the time the writer gave to put, else
   * the backend's own clock at the write. Mutable entries use it as their age.
   */
  readonly mtimeMs: number;
}

/** A key that list gave, with the size of its blob then. */
export interface ListedBlob {
  readonly key: string;
  readonly size: number;
}

export interface PutOptions {
  /**
   * The write time to record (ms since epoch), read from the writer's clock,
   * so that an age computed later on that clock is measured on one clock
   * only (default: now, by the backend's clock).
   */
  readonly mtimeMs?: number;
}

/** A stored blob opened for reading: a stable snapshot even if the key is rewritten meanwhile. */
export interface OpenBlob extends BlobInfo {
  /**
   * Each read() costs a request to a remote store (S3: a ranged GET): a reader
   * of consecutive pieces streams them instead, in one request.
   */
  readonly remote?: boolean;
  /** Bytes [start, end) (end exclusive, defaults to size). May be called more than once. */
  stream(start?: number, end?: number): Readable;
  /**
   * Reads [start, end) into memory. A backend may fill `into` (at least
   * end - start bytes long) instead of allocating, so a caller streaming a
   * large blob can reuse one buffer; either way the returned Buffer holds
   * the bytes.
   */
  read(start?: number, end?: number, into?: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * A blob being staged: written (streamed) into a private place, inspected,
 * then either committed under a key in one atomic step or discarded. Nothing
 * staged is visible to readers before commit.
 */
export interface StagedBlob {
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Makes the staged bytes readable (for verification). A durable backend
   * starts flushing them to disk here, so that the flush runs while the
   * caller verifies; commit() waits for it.
   */
  finish(): Promise<OpenBlob>;
  /**
   * Durably moves the finished blob under key (flushed, then renamed), replacing what was there. The stored
   * blob keeps the finished one's mtimeMs, so a validator made from finish() is the stored blob's. The
   * blob finish() returned stays readable until discard(), so a reader that began before the commit
   * finishes reading what it began.
   */
  commit(key: string): Promise<void>;
  /**
   * Drops the staged bytes and ends the blob finish() returned. Call it after commit too (then only
   * the reading ends); safe more than once.
   */
  discard(): Promise<void>;
}

export interface Storage {
  readonly kind: string;
  /** How messages name this store where its kind is not enough (an object store: s3://BUCKET/PREFIX at ENDPOINT). */
  readonly name?: string;
  get(key: string): Promise<Buffer | null>;
  stat(key: string): Promise<BlobInfo | null>;
  open(key: string): Promise<OpenBlob | null>;
  /** Atomic write of a whole blob. */
  put(key: string, data: Uint8Array, opts?: PutOptions): Promise<void>;
  /**
   * Atomic write of a whole blob only where there is none: resolves true when
   * it wrote, false when a blob was already there (left as it was). Of
   * concurrent creates of one key, from any process or node, exactly one
   * writes: a first record that must never be rewritten.
   */
  create(key: string, data: Uint8Array, opts?: PutOptions): Promise<boolean>;
  /**
   * Compare-and-swap of a whole small blob: writes data under key only when
   * what is there is byte for byte `expected` (null: nothing there), and
   * resolves true; resolves false, writing nothing, when another writer has
   * changed it since the caller read it. Of concurrent swaps from one
   * `expected`, from any process or node, at most one writes: a value that
   * may only move forward (the verified tree head) is read, judged, then
   * swapped, and judged again on false.
   */
  swap(key: string, expected: Uint8Array | null, data: Uint8Array, opts?: PutOptions): Promise<boolean>;
  stage(): Promise<StagedBlob>;
  delete(key: string): Promise<void>;
  /** Atomic move of an existing blob to another key (e.g. promoting a quarantined file). */
  move(from: string, to: string): Promise<void>;
  /** Keys under prefix (which ends with '/'), recursively, in no particular order. */
  list(prefix: string): Promise<string[]>;
  /**
   * As list, with each blob's size, in the same round trips as list (an object store's listing carries
   * sizes): a count of bytes stored costs no request per blob.
   */
  listSized(prefix: string): Promise<ListedBlob[]>;
  /** True when the backend can currently persist data (used by /readyz). */
  checkWritable(): Promise<void>;
  close(): Promise<void>;
}

/** Whether two blobs (null: none) are the same bytes. */
export function sameBlob(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : Buffer.compare(a, b) === 0;
}

export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`invalid storage key ${JSON.stringify(key.slice(0, 200))}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

const MAX_KEY_LENGTH = 1024;
// Characters that module-escaped paths, versions and tile paths use, plus ':' for
// nothing; everything else (backslash, NUL, control characters, spaces) is refused.
const KEY_CHARS = /^[A-Za-z0-9._~!@+\-/%]+$/;

/** Throws InvalidKeyError unless key is a safe relative path. */
export function checkKey(key: string, allowPrefix = false): void {
  if (key.length === 0) throw new InvalidKeyError(key, 'empty');
  if (key.length > MAX_KEY_LENGTH) throw new InvalidKeyError(key, 'too long');
  if (!KEY_CHARS.test(key)) throw new InvalidKeyError(key, 'disallowed character');
  const segments = key.split('/');
  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const s = segments[i] as string;
    if (s === '' && allowPrefix && i === last) continue;
    if (s === '') throw new InvalidKeyError(key, 'empty segment');
    // No segment may start with '.': that rules out '.' and '..' and keeps the
    // backends' private names (such as the fs staging folder) out of reach.
    if (s.startsWith('.')) throw new InvalidKeyError(key, 'segment starts with "."');
  }
}

/**
 * The store did not answer in time or could not be reached (an object store
 * down, a network partition): not the caller's fault, and not a definite
 * answer about the key. Clients get a 503 that names the store.
 */
export class StorageUnavailableError extends Error {
  constructor(
    readonly store: string,
    readonly detail: string,
  ) {
    super(`the storage ${store} is unavailable: ${detail}`);
    this.name = 'StorageUnavailableError';
  }
}
