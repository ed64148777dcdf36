// What a client is told when something that is not an upstream's answer
// fails a request: godepot's own storage, its shutdown, an upstream down.
import { describe, expect, it } from 'vitest';
import { ShuttingDownError, toGodepotError } from '../../src/proxy/errors.js';
import { UpstreamError } from '../../src/upstream/index.js';

describe('toGodepotError', () => {
  it('a data folder godepot may not read or write: says which, and keeps the file for the server log', () => {
    const denied = (syscall: string, path: string) =>
      Object.assign(new Error('EACCES'), { code: 'EACCES', syscall, path });
    const read = toGodepotError(denied('open', '/data/mod/example.com/x/@v/v1.0.0.mod'), 'example.com/x@v1.0.0 .mod');
    expect(read.status).toBe(503);
    expect(read.message).toMatch(
      /cannot read example\.com\/x@v1\.0\.0 \.mod from the data folder \(permission denied\)/,
    );
    expect(read.message).not.toContain('/data/mod');
    expect(read.details).toMatchObject({ file: '/data/mod/example.com/x/@v/v1.0.0.mod', syscall: 'open' });
    const write = toGodepotError(denied('open', '/data/.staging/ab/cd'), 'example.com/x@v1.0.0 .mod');
    expect(write.message).toMatch(/cannot store .* not writable \(permission denied\)/);
    const rename = toGodepotError(denied('rename', '/data/mod/x'), 'example.com/x@v1.0.0 .zip');
    expect(rename.message).toMatch(/cannot store/);
  });

  it('descriptors run out: a 503 to retry shortly that names the fix, not an internal error', () => {
    const err = Object.assign(new Error('EMFILE: too many open files'), {
      code: 'EMFILE',
      syscall: 'open',
      path: '/data/mod/example.com/x/@v/v1.0.0.zip',
    });
    const e = toGodepotError(err, 'example.com/x@v1.0.0 .zip');
    expect(e.status).toBe(503);
    expect(e.code).toBe('busy');
    expect(e.message).toBe(
      'godepot: cannot serve example.com/x@v1.0.0 .zip now: too many files open; retry in a few seconds (operators: raise the descriptor limit, ulimit -n)',
    );
    expect(e.details).toMatchObject({ file: '/data/mod/example.com/x/@v/v1.0.0.zip' });
  });

  it('an upstream down says what failed, its state, and what the client can do', () => {
    const down = new UpstreamError({
      upstream: 'https://proxy.example',
      failure: 'connect',
      detail: 'connection refused',
      transient: false,
    });
    down.breakerOpen = true;
    // The message is dated by the system clock, as served.
    down.since = Date.now();
    down.nextProbeAt = down.since + 20_000;
    const e = toGodepotError(down, 'example.com/x@v1.0.0 .info');
    expect(e.status).toBe(502);
    // It ended at the breaker's state: nothing said what to do about it.
    expect(e.message).toMatch(
      /^godepot: example\.com\/x@v1\.0\.0 \.info: upstream https:\/\/proxy\.example is unavailable: connection failed \(connection refused\); circuit open, next probe in \d+s; failing since \S+ \(\d+s\); what godepot holds is still served: try this again once the upstream answers$/,
    );
  });

  it('an answer over a limit, or no answer at all, is not said to pass once the upstream answers: it is the same then', () => {
    const big = new UpstreamError({
      upstream: 'https://proxy.example',
      failure: 'body',
      detail: "module zip larger than the go command's limit of 524288000 bytes",
      transient: false,
    });
    const e = toGodepotError(big, 'example.com/x@v1.0.0 .zip');
    expect(e.status).toBe(502);
    expect(e.message).toBe(
      "godepot: example.com/x@v1.0.0 .zip: upstream https://proxy.example failed: bad response body (module zip larger than the go command's limit of 524288000 bytes)",
    );
    const cut = new UpstreamError({
      upstream: 'https://proxy.example',
      failure: 'body',
      detail: 'response cut short (other side closed)',
      transient: true,
    });
    expect(toGodepotError(cut, 'example.com/x@v1.0.0 .zip').message).toMatch(
      /try this again once the upstream answers$/,
    );
  });

  it('a request cut by the shutdown says so (503, try again), not "internal error, see the server log"', () => {
    const e = toGodepotError(new ShuttingDownError(), 'example.com/x@v1.0.0 .zip');
    expect(e.status).toBe(503);
    expect(e.code).toBe('shutting_down');
    expect(e.message).toMatch(/example\.com\/x@v1\.0\.0 \.zip was not finished: godepot is shutting down; try again/);
  });
});
