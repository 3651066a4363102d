import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinatorChild } from './support/coordinator-child';

/*
 * Threat 5 (issue 15): the first admin token went to stderr (so into journald and `kubectl
 * logs`), never expired, and no token could be listed or revoked. Now it is written to
 * DATA/admin-token (0600) and the log says where; role tokens expire after 90 days unless
 * `--ttl never`; `tokens list` and `tokens revoke ID` exist. From threat 3: `registry login`
 * and the new `registry logout` are admin-only.
 */

const DAY = 86_400_000;
let work: string;
let coordinator: CoordinatorChild;
let admin: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'archfarm-hostile-admin-'));
  coordinator = await CoordinatorChild.start(join(work, 'data'));
  admin = (await readFile(join(work, 'data', 'admin-token'), 'utf8')).trim();
});
after(async () => {
  await coordinator?.stop();
  await rm(work, { recursive: true, force: true });
});

interface Listed {
  id: string;
  kind: string;
  state: string;
  expiresAt: string | null;
  description: string;
}

async function create(args: string[]): Promise<{ token: string; id: string; expiresAt: string | null }> {
  const res = await coordinator.cli(['tokens', 'create', ...args, '--output', 'json'], admin);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as { token: string; id: string; expiresAt: string | null };
}

function near(iso: string | null, ms: number): boolean {
  return iso !== null && Math.abs(Date.parse(iso) - ms) < 60_000;
}

test('the first admin token is in DATA/admin-token (0600); the log says where, never what', async () => {
  assert.match(admin, /^afa_[A-Za-z0-9_-]{43}$/);
  assert.equal((await stat(join(work, 'data', 'admin-token'))).mode & 0o777, 0o600);
  const file = join(work, 'data', 'admin-token');
  assert.ok(coordinator.output.includes(file), 'the log names the file');
  assert.ok(!coordinator.output.includes(admin), 'the token is in no log line');
  const who = await coordinator.cli(['tokens', 'list', '--output', 'json'], admin);
  assert.equal(who.code, 0, who.stderr);
  const initial = (JSON.parse(who.stdout) as Listed[]).find((t) => t.description === 'initial admin token');
  assert.ok(initial && initial.kind === 'admin' && initial.state === 'active');
  assert.ok(near(initial.expiresAt, Date.now() + 90 * DAY), `it expires in 90 days like any role token: ${initial.expiresAt}`);
});

test('role tokens expire after 90 days unless --ttl never; --ttl takes days', async () => {
  assert.ok(near((await create(['--role', 'builder'])).expiresAt, Date.now() + 90 * DAY));
  assert.equal((await create(['--role', 'viewer', '--ttl', 'never'])).expiresAt, null);
  assert.ok(near((await create(['--role', 'viewer', '--ttl', '30d'])).expiresAt, Date.now() + 30 * DAY));
  assert.ok(near((await create(['--role', 'viewer', '--ttl', '12h'])).expiresAt, Date.now() + DAY / 2));
});

test('tokens list shows every token without its secret; tokens revoke refuses it from then on', async () => {
  const builder = await create(['--role', 'builder', '--description', 'ci']);
  const join = await create(['--uses', '2']);
  assert.equal((await coordinator.cli(['builds'], builder.token)).code, 0, 'the builder token works');
  const list = await coordinator.cli(['tokens', 'list'], admin);
  assert.equal(list.code, 0, list.stderr);
  for (const id of [builder.id, join.id]) assert.match(list.stdout, new RegExp(`^${id}\\s`, 'm'));
  for (const secret of [builder.token, join.token, admin]) assert.ok(!list.stdout.includes(secret) && !list.stderr.includes(secret));

  const viewerList = await coordinator.cli(['tokens', 'list'], builder.token);
  assert.equal(viewerList.code, 5, 'only an admin lists tokens');
  const revoked = await coordinator.cli(['tokens', 'revoke', builder.id], admin);
  assert.equal(revoked.code, 0, revoked.stderr);
  const refused = await coordinator.cli(['builds'], builder.token);
  assert.equal(refused.code, 5, refused.stderr);
  assert.match(refused.stderr, /revoked/);
  const states = JSON.parse((await coordinator.cli(['tokens', 'list', '--output', 'json'], admin)).stdout) as Listed[];
  assert.equal(states.find((t) => t.id === builder.id)?.state, 'revoked');
  assert.notEqual((await coordinator.cli(['tokens', 'revoke', 'no-such-id'], admin)).code, 0);
});

test('the last working admin token cannot be revoked; with a second one it can', async () => {
  const states = JSON.parse((await coordinator.cli(['tokens', 'list', '--output', 'json'], admin)).stdout) as Listed[];
  const initial = states.find((t) => t.description === 'initial admin token')!;
  const last = await coordinator.cli(['tokens', 'revoke', initial.id], admin);
  assert.notEqual(last.code, 0);
  assert.match(last.stderr, /last working admin token/);
  const second = await create(['--role', 'admin']);
  const ok = await coordinator.cli(['tokens', 'revoke', initial.id], second.token);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await coordinator.cli(['builds'], admin)).code, 5, 'the revoked first admin token is refused');
  admin = second.token;
});

test('registry login and logout are admin-only', async () => {
  const builder = await create(['--role', 'builder']);
  const asBuilder = await coordinator.cli(['registry', 'login', '127.0.0.1:5999', '-u', 'ci', '--password-stdin'], builder.token, 'builder-password\n');
  assert.equal(asBuilder.code, 5, asBuilder.stderr);
  assert.match(asBuilder.stderr, /builder may not call RegistryLogin \(needs admin\)/);
  const asAdmin = await coordinator.cli(['registry', 'login', '127.0.0.1:5999', '-u', 'ci', '--password-stdin'], admin, 'org-password\n');
  assert.equal(asAdmin.code, 0, asAdmin.stderr);
  const logoutBuilder = await coordinator.cli(['registry', 'logout', '127.0.0.1:5999'], builder.token);
  assert.equal(logoutBuilder.code, 5, logoutBuilder.stderr);
  const logout = await coordinator.cli(['registry', 'logout', '127.0.0.1:5999'], admin);
  assert.equal(logout.code, 0, logout.stderr);
  assert.match(logout.stderr, /^removed the credentials for 127\.0\.0\.1:5999/);
  const again = await coordinator.cli(['registry', 'logout', '127.0.0.1:5999'], admin);
  assert.match(again.stderr, /^no credentials were stored/);
});

test('a restart with working admin tokens mints none; the log still never holds a token', async () => {
  const before = await readFile(join(work, 'data', 'admin-token'), 'utf8');
  const firstOutput = coordinator.output;
  await coordinator.stop();
  coordinator = await CoordinatorChild.start(join(work, 'data'));
  assert.equal(await readFile(join(work, 'data', 'admin-token'), 'utf8'), before);
  assert.ok(!coordinator.output.includes('initial admin token written'));
  for (const text of [firstOutput, coordinator.output]) assert.ok(!/af[abvj]_[A-Za-z0-9_-]{43}/.test(text), 'no token text in any log line');
});
