// S3Storage: any S3-compatible object store (AWS S3, MinIO, Ceph, R2, …) as
// the storage contract's backend, so several godepot nodes can share one
// cache. The AWS SDK v3 client is loaded here only (dynamic import), so a
// godepot on the filesystem never pays for it.
//
// The contract, on an object store:
// - Staged bytes go to a private local scratch folder first (they must be
//   readable for verification before anything is stored), and are uploaded
//   under their final key by commit() only: a single PUT, or a multipart
//   upload streamed from the scratch file for large zips. S3 makes an object
//   visible only when its PUT or its multipart completion succeeds, so a
//   reader never sees a partial object, and a node killed mid-upload leaves
//   at most an incomplete multipart upload (invisible; a bucket lifecycle
//   rule "AbortIncompleteMultipartUpload" reclaims it).
// - Reads stream, with HTTP Range for parts of zips; an opened blob pins the
//   object's ETag (If-Match), so it stays a stable snapshot or fails.
// - Every call has a deadline: headers within `timeout`, and no pause longer
//   than `timeout` inside a body. A store that does not answer makes the call
//   fail with StorageUnavailableError, which names the store (503 upstream).
// - A missing bucket is an error at open(), before godepot serves anything.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { FsStorage } from './fs.js';
import { bufferBlob } from './memory.js';
import { isUntrusted, PLAIN_HTTP_ANSWER, UNTRUSTED_FIX, type TrustOptions } from '../util/trust.js';
import {
  checkKey,
  sameBlob,
  StorageUnavailableError,
  type BlobInfo,
  type ListedBlob,
  type OpenBlob,
  type PutOptions,
  type StagedBlob,
  type Storage,
} from './storage.js';

type S3Module = typeof import('@aws-sdk/client-s3');

export interface S3StorageOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket ('' or ending without '/'; one is added). */
  readonly prefix: string;
  /** An S3-compatible endpoint (MinIO, Ceph, R2): path-style addressing. Absent: AWS S3. */
  readonly endpoint?: string;
  /** Default: AWS_REGION, else us-east-1. */
  readonly region?: string;
  /** Deadline of every call: headers, and any pause in a body (ms). */
  readonly timeout: number;
  /** Objects larger than this are uploaded in parts of this size. */
  readonly partSize?: number;
  /** The CAs an https endpoint may be signed by (roots.ts: the go command's and Node's); absent: Node's. */
  readonly trust?: TrustOptions;
  /**
   * The folder verified bytes wait in before their upload (made at open: a
   * folder that cannot be used stops it; godepot's data folder, shared by its
   * processes: a crashed process's leftovers are swept as in the data
   * folder). Absent: a folder of this process's own in the OS's temporary
   * folder, made at the first upload and removed at close.
   */
  readonly scratchRoot?: string;
  /** This process stores in the bucket (serve, warm, import, export): credentials that may not write there stop the open. */
  readonly writable?: boolean;
}

const DEFAULT_PART = 8 << 20;
/**
 * Connections to the store at once for calls that do not wait on a client (the SDK's default), and idle ones kept.
 * Reads are not bounded here: a read streams to a client as fast as that client takes it, so a bound let ~50
 * clients that stopped reading large zips hold every connection, and every other read (of any artifact, a .mod as
 * much as a zip) waited for one until --storage-timeout and failed 503. Each read belongs to a client connection:
 * the server's connection cap bounds them.
 */
const CALL_SOCKETS = 50;
/**
 * Objects up to this size are read whole at open (a snapshot); larger ones are read from the store as asked. Lists,
 * tree heads and incident records are far smaller; the bound keeps what concurrent opens hold in memory small.
 */
const SNAPSHOT = 256 << 10;
const MTIME = 'godepot-mtime';

interface ServiceError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

function statusOf(err: unknown): number | undefined {
  return (err as ServiceError | null)?.$metadata?.httpStatusCode;
}

/** The bucket itself is gone (a 404 too, but not a missing key: nothing can be stored until it is back). */
function isBucketGone(err: unknown): boolean {
  const e = err as ServiceError | null;
  return e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket';
}

function isMissing(err: unknown): boolean {
  const name = (err as ServiceError | null)?.name;
  return !isBucketGone(err) && (name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404);
}

/**
 * The object changed between its HEAD and a read of its bytes (another node replaced or removed it): for a large
 * one (a zip another node quarantined or purged) no definite answer now, so a 503 that says to ask again.
 */
class ReplacedWhileReading extends StorageUnavailableError {
  constructor(store: string, key: string) {
    super(store, `${key} was replaced or removed by another node while being read; ask again`);
    this.name = 'ReplacedWhileReading';
  }
}

export class S3Storage implements Storage {
  readonly kind = 's3';
  /** False once the store refused a conditional write (501): create then looks before it writes. */
  conditionalWrites = true;
  /** How this store is named in errors and /readyz. */
  readonly name: string;
  private readonly root: string;

  private constructor(
    private readonly s3: S3Module,
    private readonly client: S3Client,
    /** For the bodies of reads, which wait on their reader as well as the store (rangeStream times the store). */
    private readonly reads: S3Client,
    private readonly opts: S3StorageOptions,
  ) {
    const p = opts.prefix.replace(/^\/+|\/+$/g, '');
    this.root = p === '' ? '' : p + '/';
    this.name = `s3://${opts.bucket}/${p}${opts.endpoint ? ` at ${opts.endpoint}` : ''}`;
  }

  /** Connects, and fails with a clear message when the bucket does not exist or the store cannot be reached. */
  static async open(opts: S3StorageOptions): Promise<S3Storage> {
    // The pinned SDK supports Node 20; its notice about future releases is not for godepot's users.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const s3 = await import('@aws-sdk/client-s3');
    const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const clientFor = (idle: boolean): S3Client =>
      new s3.S3Client({
        region,
        ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
        // Connect deadline, and socket idle deadline (also inside bodies: socketTimeout; requestTimeout bounds
        // only the wait for headers, which every call's abortSignal does, and only warns on the console).
        requestHandler: {
          connectionTimeout: opts.timeout,
          ...(idle ? { socketTimeout: opts.timeout } : {}),
          httpAgent: { maxSockets: idle ? CALL_SOCKETS : Infinity, maxFreeSockets: CALL_SOCKETS },
          httpsAgent: {
            maxSockets: idle ? CALL_SOCKETS : Infinity,
            maxFreeSockets: CALL_SOCKETS,
            ...(opts.trust?.secureContext ? { secureContext: opts.trust.secureContext } : {}),
          },
        },
        maxAttempts: 2,
        // Range reads and our own hashes make the SDK's response checksums redundant.
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    // A socket idle deadline would also end a read whose reader paused (a client slower than the deadline).
    const storage = new S3Storage(s3, clientFor(true), clientFor(false), opts);
    try {
      await storage.client.send(new s3.HeadBucketCommand({ Bucket: opts.bucket }), {
        abortSignal: AbortSignal.timeout(opts.timeout),
      });
    } catch (err) {
      await storage.close();
      // A bucket in another region than the one signed for: the answer (a HEAD's: no body) names its region.
      const bucketRegion = (err as { $response?: { headers?: Record<string, string> } } | null)?.$response?.headers?.[
        'x-amz-bucket-region'
      ];
      if (bucketRegion && bucketRegion !== region) {
        const source =
          opts.region !== undefined
            ? 'as configured'
            : process.env.AWS_REGION
              ? 'AWS_REGION'
              : process.env.AWS_DEFAULT_REGION
                ? 'AWS_DEFAULT_REGION'
                : 'the default, with AWS_REGION unset';
        throw new Error(
          `the bucket "${opts.bucket}" is in the region ${bucketRegion}, not ${region} (${source}): set AWS_REGION=${bucketRegion}`,
        );
      }
      if (isMissing(err))
        throw new Error(
          `the bucket "${opts.bucket}" does not exist${opts.endpoint ? ` at ${opts.endpoint}` : ''}; create it (e.g. \`mc mb ALIAS/${opts.bucket}\` or \`aws s3 mb s3://${opts.bucket}\`) or fix --storage`,
        );
      if (statusOf(err) === 403)
        throw new Error(
          `access to the bucket "${opts.bucket}" is denied; check the AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, …)`,
        );
      if ((err as ServiceError | null)?.name === 'CredentialsProviderError')
        throw new Error(
          `no AWS credentials for the object store ${storage.name}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an instance/pod role`,
        );
      // An http endpoint of an https-only store: its 400 is the web server's, not S3's (no request id), and has no body.
      const requestId = (err as { $metadata?: { requestId?: string } } | null)?.$metadata?.requestId;
      if (statusOf(err) === 400 && requestId === undefined && opts.endpoint?.startsWith('http://'))
        throw new Error(
          `cannot reach the object store ${storage.name}: it answered HTTP 400 without an S3 request id, as a store that serves only https does to plain HTTP; if it serves https, write --s3-endpoint with https://`,
        );
      throw new Error(`cannot reach the object store ${storage.name}: ${storage.explain(err)}`);
    }
    // A bucket this process could not store in stops it, as a read-only data folder does: it would fetch, verify
    // and fail to store every artifact, again at each request.
    if (opts.writable) {
      const refused = await storage.writeAndRemove().then(
        () => null,
        (err: unknown) => err,
      );
      if (refused !== null) {
        await storage.close();
        const status = statusOf(refused);
        if (status !== 401 && status !== 403)
          throw new Error(`cannot write to the object store ${storage.name}: ${describe(refused)}`);
        throw new Error(
          `the bucket "${opts.bucket}" is not writable with these AWS credentials (${describe(refused)}): godepot stores what it fetches there; grant them s3:PutObject, s3:DeleteObject and s3:AbortMultipartUpload on s3://${opts.bucket}/${storage.root}*, or use credentials that have them`,
        );
      }
    }
    // A data folder that cannot hold the scratch files stops the start, as it does with filesystem storage.
    if (opts.scratchRoot !== undefined)
      await storage.scratchStore().catch(async (err: unknown) => {
        await storage.close();
        throw err;
      });
    return storage;
  }

  private key(key: string, allowPrefix = false): string {
    checkKey(key, allowPrefix);
    return this.root + key;
  }

  /** What the store answered, or that a deadline ended the call (the SDK's words name neither the setting nor a fix). */
  private explain(err: unknown): string {
    const s = this.opts.timeout / 1000;
    if ((err as Error | null)?.name === 'AbortError') return `not done within ${s} s (--storage-timeout)`;
    if ((err as Error | null)?.name === 'TimeoutError') {
      const message = (err as Error).message;
      if (/did not establish a connection/.test(message)) return `no connection within ${s} s (--storage-timeout)`;
      if (/socket timed out/.test(message)) return `nothing received for ${s} s (--storage-timeout)`;
    }
    return describe(err);
  }

  /** Wraps a store failure that is not a definite answer into StorageUnavailableError; then: said after the cause. */
  private fail(err: unknown, what: string, then = ''): Error {
    if (err instanceof StorageUnavailableError) return err;
    if (isBucketGone(err))
      return new StorageUnavailableError(
        this.name,
        `${what}: the bucket "${this.opts.bucket}" no longer exists; create it again (e.g. \`mc mb ALIAS/${this.opts.bucket}\` or \`aws s3 mb s3://${this.opts.bucket}\`) and godepot fills it again from its upstreams`,
      );
    const status = statusOf(err);
    const cause = this.explain(err);
    const why = `${what}: ${then ? cause.replace(/\.$/, '') : cause}${then}`;
    // Credentials that expired or were revoked while godepot runs: the store's failure, not the request's.
    if (status === 401 || status === 403)
      return new StorageUnavailableError(
        this.name,
        `${why}: access denied; check the AWS credentials (expired, rotated or revoked?) and what they may do on s3://${this.opts.bucket}/${this.root}*`,
      );
    if (status !== undefined && status < 500 && status !== 408 && status !== 429) {
      return new Error(`object store ${this.name}: ${why}`);
    }
    return new StorageUnavailableError(this.name, why);
  }

  private deadline(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.opts.timeout) };
  }

  async get(key: string): Promise<Buffer | null> {
    // A whole read of a key another node replaces meanwhile (the shared tree head) reads the new one; one it
    // removes meanwhile (a pruned incident record) reads as missing.
    for (let attempt = 1; ; attempt++) {
      const blob = await this.open(key);
      if (!blob) return null;
      try {
        return await blob.read();
      } catch (err) {
        if (!(err instanceof ReplacedWhileReading) || attempt >= 3) throw err;
      } finally {
        await blob.close();
      }
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const k = this.key(key);
    try {
      const h = await this.client.send(new this.s3.HeadObjectCommand({ Bucket: this.opts.bucket, Key: k }), {
        ...this.deadline(),
      });
      return { size: h.ContentLength ?? 0, mtimeMs: mtimeOf(h.Metadata, h.LastModified) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.fail(err, `stat ${key}`);
    }
  }

  async open(key: string): Promise<OpenBlob | null> {
    return (await this.openObject(key))?.blob ?? null;
  }

  /**
   * open, with the ETag of the object opened (every read of it is of that object: If-Match). A small object
   * (a list, a tree head, an incident record: what other nodes rewrite) is read whole here, so it is a snapshot
   * as the contract says, however soon it is replaced; one replaced between its HEAD and that read is opened
   * again, as get does.
   */
  private async openObject(key: string): Promise<{ blob: OpenBlob; etag: string | undefined } | null> {
    const k = this.key(key);
    for (let attempt = 1; ; attempt++) {
      let head;
      try {
        head = await this.client.send(
          new this.s3.HeadObjectCommand({ Bucket: this.opts.bucket, Key: k }),
          this.deadline(),
        );
      } catch (err) {
        if (isMissing(err)) return null;
        throw this.fail(err, `open ${key}`);
      }
      const size = head.ContentLength ?? 0;
      const etag = head.ETag;
      const mtimeMs = mtimeOf(head.Metadata, head.LastModified);
      if (size > SNAPSHOT) return { blob: this.remoteBlob(key, k, etag, size, mtimeMs), etag };
      try {
        const bytes = await this.remoteBlob(key, k, etag, size, mtimeMs).read();
        return { blob: bufferBlob(bytes, mtimeMs), etag };
      } catch (err) {
        if (!(err instanceof ReplacedWhileReading) || attempt >= 3) throw err;
      }
    }
  }

  /** The object k (size bytes, ETag etag) read from the store at each read (If-Match: that object or a failure). */
  private remoteBlob(key: string, k: string, etag: string | undefined, size: number, mtimeMs: number): OpenBlob {
    const range = (start: number, end: number): Readable => this.rangeStream(key, k, etag, start, end);
    return {
      size,
      mtimeMs,
      remote: true,
      stream: (start = 0, end = size) => range(clamp(start, size), clamp(end, size)),
      read: async (start = 0, end = size, into?: Buffer) => {
        const s = clamp(start, size);
        const e = clamp(end, size);
        const len = Math.max(0, e - s);
        if (into && into.length < len)
          throw new RangeError(`read buffer of ${into.length} bytes is too small for ${len} bytes`);
        const buf = into ? into.subarray(0, len) : Buffer.allocUnsafe(len);
        let off = 0;
        for await (const chunk of range(s, e)) {
          const c = chunk as Buffer;
          if (off + c.length > len) throw new Error(`object store ${this.name} sent more bytes than asked for`);
          c.copy(buf, off);
          off += c.length;
        }
        if (off !== len) throw new StorageUnavailableError(this.name, `short read of ${key}`);
        return buf;
      },
      close: async () => {},
    };
  }

  /**
   * Bytes [start, end) of the object whose ETag is etag: the headers wait at most `timeout`, and so does the
   * reader for each next piece (a pause of the reader's own is not the store's).
   */
  private rangeStream(key: string, k: string, etag: string | undefined, start: number, end: number): Readable {
    const out = new PassThrough();
    if (end <= start) {
      out.end();
      return out;
    }
    const headers = new AbortController();
    const timer = setTimeout(
      () => headers.abort(new Error(`no answer within ${this.opts.timeout} ms`)),
      this.opts.timeout,
    );
    this.reads
      .send(
        new this.s3.GetObjectCommand({
          Bucket: this.opts.bucket,
          Key: k,
          Range: `bytes=${start}-${end - 1}`,
          ...(etag ? { IfMatch: etag } : {}),
        }),
        { abortSignal: headers.signal },
      )
      .then(
        (res) => {
          clearTimeout(timer);
          const body = res.Body;
          if (!(body instanceof Readable)) {
            out.destroy(new StorageUnavailableError(this.name, `read ${key}: no body`));
            return;
          }
          if (out.destroyed) {
            // Its reader went before the store answered: left paused, the body would hold its connection for ever.
            body.destroy();
            return;
          }
          body.on('error', (err: unknown) => out.destroy(this.fail(err, `read ${key}`)));
          out.on('close', () => body.destroy());
          // Copied as out takes it; the deadline runs only while out waits for the store.
          let stall: NodeJS.Timeout | undefined;
          const wait = (): void => {
            clearTimeout(stall);
            stall = setTimeout(() => {
              const s = this.opts.timeout / 1000;
              body.destroy(
                new StorageUnavailableError(this.name, `read ${key}: nothing received for ${s} s (--storage-timeout)`),
              );
            }, this.opts.timeout);
          };
          body.on('data', (chunk: Buffer) => {
            if (out.write(chunk)) return wait();
            clearTimeout(stall);
            body.pause();
            out.once('drain', () => {
              wait();
              body.resume();
            });
          });
          body.on('end', () => out.end());
          body.on('close', () => clearTimeout(stall));
          wait();
        },
        (err: unknown) => {
          clearTimeout(timer);
          out.destroy(
            statusOf(err) === 412 || isMissing(err)
              ? new ReplacedWhileReading(this.name, key)
              : this.fail(err, `read ${key}`),
          );
        },
      );
    return out;
  }

  async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<void> {
    const k = this.key(key);
    try {
      await this.putObject(k, data, opts, false);
    } catch (err) {
      throw this.fail(err, `write ${key}`);
    }
  }

  /**
   * Compare-and-swap: what is there is read with its ETag, and replaced by a PUT conditional on that ETag
   * (If-Match; on there being nothing: create). 412, or 409 (another conditional write racing this one):
   * changed since it was read. A store without conditional writes (501) gets a plain PUT, as for create.
   */
  async swap(key: string, expected: Uint8Array | null, data: Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    if (expected === null) return this.create(key, data, opts);
    let opened, current: Buffer;
    try {
      opened = await this.openObject(key);
      if (!opened) return false;
      current = await opened.blob.read();
    } catch (err) {
      if (err instanceof ReplacedWhileReading) return false;
      throw err;
    }
    if (!sameBlob(current, expected)) return false;
    try {
      await this.putObject(this.key(key), data, opts, opened.etag === undefined ? false : { ifMatch: opened.etag });
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409 || isMissing(err)) return false;
      if (status === 501) {
        this.conditionalWrites = false;
        await this.put(key, data, opts);
        return true;
      }
      throw this.fail(err, `swap ${key}`);
    }
  }

  /**
   * One PUT of a whole object (k: the object's key); onlyNew: If-None-Match: *, refused (412) where k exists;
   * { ifMatch }: refused (412) unless the object there has that ETag.
   * whole: the call has `timeout` in all; else (a large body) only no pause longer than that (socketTimeout).
   */
  private async putObject(
    k: string,
    data: Uint8Array,
    opts: PutOptions,
    onlyNew: boolean | { ifMatch: string },
    whole = true,
  ): Promise<void> {
    await this.client.send(
      new this.s3.PutObjectCommand({
        Bucket: this.opts.bucket,
        Key: k,
        Body: data,
        ContentLength: data.length,
        ...(onlyNew === true ? { IfNoneMatch: '*' } : onlyNew ? { IfMatch: onlyNew.ifMatch } : {}),
        Metadata: { [MTIME]: String(opts.mtimeMs ?? Date.now()) },
      }),
      whole ? this.deadline() : {},
    );
  }

  async create(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    const k = this.key(key);
    // A conditional PUT: the store refuses it with 412 where the key exists. 409 is a conditional write
    // racing another one: asked again, it then finds the winner's object (412).
    for (let attempt = 1; ; attempt++) {
      try {
        await this.putObject(k, data, opts, true);
        return true;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412) return false;
        if (status === 409 && attempt < 3) continue;
        // A store without conditional writes: the best it can do is a look first (PrivateLedger warns of it).
        if (status === 501) {
          this.conditionalWrites = false;
          if (await this.stat(key)) return false;
          await this.put(key, data, opts);
          return true;
        }
        throw this.fail(err, `create ${key}`);
      }
    }
  }

  /** The local scratch storage: made at open with a scratchRoot, else at the first upload (a failure is tried again next time). */
  private scratch: Promise<{ readonly fs: FsStorage; readonly own?: string }> | null = null;

  private scratchStore(): Promise<{ readonly fs: FsStorage; readonly own?: string }> {
    this.scratch ??= (async () => {
      if (this.opts.scratchRoot !== undefined)
        return { fs: await FsStorage.open(this.opts.scratchRoot, { durable: false }) };
      const own = await mkdtemp(join(tmpdir(), 'godepot-s3-staging-'));
      return { fs: await FsStorage.open(own, { durable: false }), own };
    })().catch((err: unknown) => {
      this.scratch = null;
      throw err;
    });
    return this.scratch;
  }

  async stage(): Promise<StagedBlob> {
    const local = await (await this.scratchStore()).fs.stage();
    let finished: OpenBlob | null = null;
    let done = false;
    return {
      write: (chunk) => local.write(chunk),
      finish: async () => (finished ??= await local.finish()),
      commit: async (key) => {
        if (done) throw new Error('commit after commit or discard');
        const blob = (finished ??= await local.finish());
        await this.upload(key, blob);
        // The local copy stays readable until discard (readers of the finished blob), which removes it.
        done = true;
      },
      discard: async () => {
        done = true;
        await local.discard();
      },
    };
  }

  /** Streams a finished staged blob under key: one PUT, or a multipart upload for large blobs. */
  private async upload(key: string, blob: OpenBlob): Promise<void> {
    const k = this.key(key);
    const partSize = this.opts.partSize ?? DEFAULT_PART;
    // The staged file's write time, as on the filesystem: an ETag given before the upload is the stored one's.
    // An upload may take longer than `timeout` (a slow link, or many at once): its deadline is on its pauses.
    if (blob.size <= partSize) {
      const data = await blob.read();
      try {
        await this.putObject(k, data, { mtimeMs: blob.mtimeMs }, false, false);
      } catch (err) {
        throw this.fail(err, `write ${key}`);
      }
      return;
    }
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.opts.bucket,
        Key: k,
        Body: blob.stream(),
        Metadata: { [MTIME]: String(blob.mtimeMs) },
      },
      partSize,
      queueSize: 2,
      // Removed below, once every part has settled: the error then says why the upload failed, and where its parts are.
      leavePartsOnError: true,
    });
    // Each of its requests fails on a pause longer than `timeout` (socketTimeout), and then the upload with it;
    // a deadline on the whole would fail a large zip on a slow link however steadily its bytes moved (progress
    // is told only per part, 8 MiB).
    try {
      await upload.done();
    } catch (err) {
      const UploadId = upload.uploadId;
      if (UploadId === undefined) throw this.fail(err, `upload ${key}`);
      // Unfinished, it is no object (S3 shows an object only once complete), but its parts take space.
      const aborted = await this.client
        .send(new this.s3.AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key: k, UploadId }), this.deadline())
        .then(
          () => true,
          () => false,
        );
      throw this.fail(
        err,
        `upload ${key}`,
        aborted
          ? '; the parts it sent were removed'
          : '; its parts are left in the bucket, invisible, for its lifecycle rule to remove (AbortIncompleteMultipartUpload; MinIO drops them after a day)',
      );
    }
  }

  async delete(key: string): Promise<void> {
    const k = this.key(key);
    try {
      await this.client.send(new this.s3.DeleteObjectCommand({ Bucket: this.opts.bucket, Key: k }), this.deadline());
    } catch (err) {
      if (!isMissing(err)) throw this.fail(err, `delete ${key}`);
    }
  }

  /** Copy, then delete: the target appears whole (S3 copies atomically); the source goes after. */
  async move(from: string, to: string): Promise<void> {
    const src = this.key(from);
    const dst = this.key(to);
    try {
      await this.client.send(
        new this.s3.CopyObjectCommand({
          Bucket: this.opts.bucket,
          Key: dst,
          CopySource: `${this.opts.bucket}/${src.split('/').map(encodeURIComponent).join('/')}`,
        }),
        this.deadline(),
      );
    } catch (err) {
      if (isMissing(err)) throw Object.assign(new Error(`no such key: ${from}`), { code: 'ENOENT' });
      throw this.fail(err, `move ${from} to ${to}`);
    }
    await this.delete(from);
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listSized(prefix)).map((b) => b.key);
  }

  async listSized(prefix: string): Promise<ListedBlob[]> {
    const p = this.key(prefix.endsWith('/') ? prefix : prefix + '/', true);
    const out: ListedBlob[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new this.s3.ListObjectsV2Command({
            Bucket: this.opts.bucket,
            Prefix: p,
            ...(token ? { ContinuationToken: token } : {}),
          }),
          this.deadline(),
        );
        for (const o of page.Contents ?? [])
          if (o.Key) out.push({ key: o.Key.slice(this.root.length), size: o.Size ?? 0 });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.fail(err, `list ${prefix}`);
    }
    return out;
  }

  async checkWritable(): Promise<void> {
    try {
      await this.writeAndRemove();
    } catch (err) {
      throw this.fail(err, 'write check');
    }
  }

  /** Writes and removes a small object (outside the key space checkKey allows); throws what the store answered. */
  private async writeAndRemove(): Promise<void> {
    const k = `${this.root}.godepot/writable-${process.pid}`;
    const { VersionId } = await this.client.send(
      new this.s3.PutObjectCommand({ Bucket: this.opts.bucket, Key: k, Body: 'ok' }),
      this.deadline(),
    );
    // In a versioned bucket a plain delete only hides the object behind a delete marker: a check at every /readyz
    // would leave two versions each time, for ever. The version written is removed itself where that is allowed.
    const remove = (version?: string) =>
      this.client.send(
        new this.s3.DeleteObjectCommand({ Bucket: this.opts.bucket, Key: k, VersionId: version }),
        this.deadline(),
      );
    if (VersionId === undefined || VersionId === 'null') return void (await remove());
    await remove(VersionId).catch(async (err: unknown) => {
      // Credentials without s3:DeleteObjectVersion: hidden, as before.
      if (statusOf(err) !== 403) throw err;
      await remove();
    });
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.reads.destroy();
    const scratch = await this.scratch?.catch(() => null);
    if (!scratch) return;
    // Its lock's heartbeat timer would otherwise keep running (and the process alive) after close.
    await scratch.fs.close();
    if (scratch.own !== undefined) await rm(scratch.own, { recursive: true, force: true });
  }
}

function clamp(n: number, size: number): number {
  return Math.min(Math.max(n, 0), size);
}

/** The write time godepot recorded in the object's metadata (0, the epoch, included), else the store's. */
function mtimeOf(meta: Record<string, string> | undefined, lastModified: Date | undefined): number {
  const raw = meta?.[MTIME]?.trim();
  const m = raw ? Number(raw) : NaN;
  if (Number.isFinite(m) && m >= 0) return m;
  return lastModified?.getTime() ?? 0;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const status = statusOf(err);
  const msg = err.message || err.name;
  // An https endpoint of a plain-HTTP store: OpenSSL's words (and a file name and line of its source) say only that.
  if (PLAIN_HTTP_ANSWER.test(msg))
    return 'the store answered in plain HTTP, not TLS: if it serves http, write --s3-endpoint with http://';
  const fix = isUntrusted(err) ? `: ${UNTRUSTED_FIX}` : '';
  return [typeof code === 'string' ? code : '', status ? `HTTP ${status}` : '', msg].filter((s) => s).join(' ') + fix;
}
