// Anyone who reaches godepot can be refused by --auth as often as they like:
// the log says each reason at warn level at most once per SAID_EVERY_MS with
// how many more were refused since (the metric counts every one), so that a
// scanner does not bury the lines an operator needs.
import { afterEach, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { hashToken, withUser } from '../../src/auth/users.js';
import { wireAuth, type AuthWiring } from '../../src/runtime/auth.js';
import { ManualClock } from '../../src/util/clock.js';
import { SAID_EVERY_MS } from '../../src/util/spacing.js';
import { removeDir, tempDir } from '../support/godepot.js';

let dir = '';
let auth: AuthWiring | undefined;
afterEach(async () => {
  auth?.close();
  await removeDir(dir);
});

const request = (path: string, authorization?: string): IncomingMessage =>
  ({
    url: path,
    headers: authorization ? { authorization } : {},
    socket: { remoteAddress: '127.0.0.1' },
  }) as unknown as IncomingMessage;

it('says each kind of refusal once per interval, with how many more since, and counts every one', async () => {
  dir = await tempDir();
  const file = join(dir, 'users');
  await writeFile(file, withUser(null, 'ci', hashToken('right-token-0123456789'), 'example.com/*'));
  const lines: Array<{ level: number; msg: string; reason?: string; alsoRefusedSince?: number }> = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const registry = new Registry();
  const clock = new ManualClock();
  auth = wireAuth(file, log, registry, () => clock.now());
  const wrong = 'Basic ' + Buffer.from('ci:guess').toString('base64');
  for (let i = 0; i < 500; i++) {
    expect(auth.authorize(request(`/example.com/m${i}/@v/list`))?.status).toBe(401);
    expect(auth.authorize(request(`/example.com/m${i}/@v/list`, wrong))?.status).toBe(401);
  }
  const warned = () => lines.filter((l) => l.level === 40);
  expect(warned().map((l) => l.reason)).toEqual(['no_credentials', 'bad_credentials']);
  expect(lines.filter((l) => l.level === 20)).toHaveLength(998);
  clock.advance(SAID_EVERY_MS);
  auth.authorize(request('/example.com/next/@v/list'));
  expect(warned().at(-1)).toMatchObject({ reason: 'no_credentials', alsoRefusedSince: 499 });
  const metrics = await registry.metrics();
  expect(metrics).toContain('godepot_auth_failures_total{reason="no_credentials"} 501');
  expect(metrics).toContain('godepot_auth_failures_total{reason="bad_credentials"} 500');
});
