// godepot does not read GOPROXY and GOSUMDB, but where its environment sets
// them differently from godepot's defaults it says so at start, with the
// setting that fetches and verifies as the go command there would (a network
// that cannot reach proxy.golang.org but sets GOPROXY=https://goproxy.cn).
import { describe, expect, it } from 'vitest';
import { goEnvHints } from '../../src/config/go-env.js';

const none = { values: {}, from: {} };

describe("hints from the go command's environment", () => {
  it('names GOPROXY and GOSUMDB when they differ from the defaults godepot kept', () => {
    const h = goEnvHints(none, { GOPROXY: 'https://goproxy.cn,direct', GOSUMDB: 'sum.golang.google.cn' }, 8080);
    expect(h).toHaveLength(2);
    expect(h[0]).toContain(`--upstream 'https://goproxy.cn,direct'`);
    expect(h[1]).toContain(`--sumdb 'sum.golang.google.cn'`);
  });

  it("never logs a password from GOPROXY's or GOSUMDB's URLs", () => {
    const h = goEnvHints(
      none,
      { GOPROXY: 'https://alice:s3cret@corp.example', GOSUMDB: 'sum.golang.org https://bob:t0ken@sum.corp.example' },
      8080,
    );
    expect(h).toHaveLength(2);
    expect(h.join('\n')).not.toMatch(/s3cret|t0ken/);
    expect(h[0]).toContain(`--upstream 'https://alice:xxxxx@corp.example'`);
  });

  it('says nothing when they agree, are off or unset, name godepot itself, or the setting was given', () => {
    for (const env of [
      {},
      { GOPROXY: 'https://proxy.golang.org,direct', GOSUMDB: 'sum.golang.org' },
      { GOPROXY: 'https://proxy.golang.org/', GOSUMDB: 'off' },
      { GOPROXY: 'off' },
      { GOPROXY: 'proxy.golang.org' },
      { GOPROXY: 'direct' },
      { GOPROXY: 'http://localhost:8080' },
      { GOPROXY: 'http://127.0.0.1:8080,https://proxy.golang.org' },
      { GOPROXY: 'https://corp.example|https://proxy.golang.org' },
    ])
      expect(goEnvHints(none, env, 8080), JSON.stringify(env)).toEqual([]);
    const given = { values: { upstream: 'https://corp.example', sumdb: 'sum.golang.org' }, from: {} };
    expect(goEnvHints(given, { GOPROXY: 'https://goproxy.cn', GOSUMDB: 'sum.golang.google.cn' }, 8080)).toEqual([]);
    // GOPRIVATE: godepot would send those paths upstream unless told --private (or --nosumdb for lookups).
    const priv = goEnvHints(none, { GOPRIVATE: 'git.corp.example/*' }, 8080);
    expect(priv).toHaveLength(1);
    expect(priv[0]).toContain(`--private 'git.corp.example/*'`);
    expect(goEnvHints({ values: { private: ['git.corp.example/*'] }, from: {} }, { GOPRIVATE: 'x' }, 8080)).toEqual([]);
    expect(goEnvHints({ values: { nosumdb: ['git.corp.example/*'] }, from: {} }, { GOPRIVATE: 'x' }, 8080)).toEqual([]);
    // GONOSUMDB alone: those paths would be looked up in the checksum database unless told --nosumdb.
    const nosum = goEnvHints(none, { GONOSUMDB: 'git.corp.example' }, 8080);
    expect(nosum).toHaveLength(1);
    expect(nosum[0]).toContain(`--nosumdb 'git.corp.example'`);
    expect(goEnvHints({ values: { nosumdb: ['git.corp.example'] }, from: {} }, { GONOSUMDB: 'x' }, 8080)).toEqual([]);
    // Another port on this machine is another server: worth saying.
    expect(goEnvHints(none, { GOPROXY: 'http://localhost:9090' }, 8080)).toHaveLength(1);
  });

  it('names a GODEPOT_ variable that is no setting (a mistyped flag is refused; a variable was ignored)', () => {
    expect(
      goEnvHints(
        none,
        { GODEPOT_LISTN: ':8080', GODEPOT_LISTEN: ':8080', GODEPOT_CONFIG: 'x.json', GODEPOT_X: '1' },
        8080,
      ),
    ).toEqual([
      "GODEPOT_LISTN in godepot's environment is not a godepot setting and is ignored (did you mean GODEPOT_LISTEN?); see godepot serve --help",
      "GODEPOT_X in godepot's environment is not a godepot setting and is ignored; see godepot serve --help",
    ]);
  });
});
