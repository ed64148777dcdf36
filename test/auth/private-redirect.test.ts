// Private modules are fetched with godepot's own Git credentials, and the
// go command follows a path's go-import tag to whatever repository it names.
// Under --auth with a user limited to its team's paths, a go-import of one of
// those paths that names another team's repository must not hand that
// repository's versions or source to the user.
//
// OPEN (access-control review): godepot does not confine where a private
// path's go-import leads, so today it does (the list, the .info naming the
// other repository, its go.mod and its source as a zip). The fix needs a rule
// tying a private path to the repositories it may lead to, which is a design
// decision (README, "Access control", says so meanwhile). `it.fails` records
// the hole: this test fails, and so passes, until the hole is closed; then
// turn it into `it`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findGo } from '../world/index.js';
import { findComponent } from '../support/components.js';
import { removeDir, startGodepot, tempDir, type RunningGodepot } from '../support/godepot.js';
import { hashToken, withUser } from '../../src/auth/users.js';
import { startPrivateWorld, vcsEnv, type PrivateWorld } from '../e2e/private-support.js';

const go = findGo();
const git = go === null ? null : findComponent('git');
const TEAM_A = 'team-a-token-0123456789abcdef';

describe.skipIf(go === null || git === null)("a private path whose go-import names another team's repository", () => {
  let world: PrivateWorld;
  let godepot: RunningGodepot;
  const dirs: string[] = [];

  beforeAll(async () => {
    world = await startPrivateWorld(git as string);
    // Team B's repository, from before modules: no go.mod, so the go command takes any path for it.
    await world.git.createRepo('corp.example/teamb-plans', { 'plans.go': 'package plans // MERGER-PLANS\n' });
    world.git.tag('corp.example/teamb-plans', 'v1.0.0');
    // A path of team A's, whose go-import (which team A controls on a vanity host) names team B's repositories.
    world.git.redirect('corp.example/teama-tool', 'http://corp.example/git/teamb-plans');
    world.git.redirect('corp.example/teama-lib', 'http://corp.example/git/lib');
    const dir = await tempDir();
    dirs.push(dir);
    const users = join(dir, 'users.json');
    await writeFile(users, withUser(null, 'teama', hashToken(TEAM_A), 'corp.example/teama-*'));
    const env = await vcsEnv(world.git, world.git.netrc());
    dirs.push(env.HOME as string);
    godepot = await startGodepot(
      {
        upstream: world.upstream.url,
        sumdb: `${world.sumdb.vkey} ${world.sumdb.url}`,
        private: 'corp.example',
        auth: users,
        'insecure-auth': 'true',
      },
      { vcs: { env } },
    );
  }, 120_000);

  afterAll(async () => {
    await godepot?.close();
    await world?.close();
    for (const d of dirs) await removeDir(d);
  });

  it.fails(
    "shows the user neither the other repository's versions nor its source",
    async () => {
      const headers = { authorization: 'Basic ' + Buffer.from(`teama:${TEAM_A}`).toString('base64') };
      const seen: string[] = [];
      for (const path of [
        '/corp.example/teama-tool/@v/list',
        '/corp.example/teama-tool/@v/v1.0.0.info',
        '/corp.example/teama-tool/@v/v1.0.0.zip',
        '/corp.example/teama-lib/@v/list',
        '/corp.example/teama-lib/@v/v1.1.0.info',
        '/corp.example/teama-lib/@v/v1.1.0.mod',
      ]) {
        const r = await fetch(godepot.url + path, { headers });
        const body = Buffer.from(await r.arrayBuffer()).toString('latin1');
        seen.push(`${path} ${r.status} ${body.slice(0, 200)}`);
      }
      // Nothing of team B's: not its versions, not where they are kept, not its go.mod or its source.
      for (const s of seen) {
        expect(s).not.toMatch(/^\S+ 200 /);
        expect(s).not.toContain('teamb-plans');
        expect(s).not.toContain('module corp.example/lib');
      }
    },
    200_000,
  );
});
