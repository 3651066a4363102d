import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { caFingerprint } from '@archfarm/common';
import { runCli } from '../cli';
import { ExitCode } from '../exit-codes';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { TEST_TLS } from '../testing/tls';

async function start(t: { after: (fn: () => unknown) => void }): Promise<FakeCoordinator> {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  return fake;
}

test('tokens create: a join token (1h, one use) alone on stdout, the agent command on stderr', async (t) => {
  const fake = await start(t);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['tokens', 'create'], io), 0, io.stderr.text);
  assert.equal(io.stdout.text, 'af_join_secret_token\n');
  assert.deepEqual(fake.auth.createdTokens, [{ kind: 'join', ttlSeconds: 3600, neverExpires: false, uses: 1, labels: {}, description: '' }]);
  assert.equal(
    io.stderr.text,
    'join token for one agent, valid until 2030-01-01T00:00:00.000Z; on each agent run:\n' +
      `  archfarm-agent --coordinator ${fake.address} --join-token af_join_secret_token --ca-fingerprint ${caFingerprint(TEST_TLS.caPem)}\n`,
  );
});

test('tokens create: --ttl, --uses, --label, --description; JSON output', async (t) => {
  const fake = await start(t);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  const args = ['tokens', 'create', '--ttl', '24h', '--uses', '10', '--label', 'rack=pi-shelf', '--label', 'site=lab', '--description', ' shelf ', '--output', 'json'];
  assert.equal(await runCli(args, io), 0, io.stderr.text);
  assert.deepEqual(JSON.parse(io.stdout.text), { token: 'af_join_secret_token', id: 'tok-1', expiresAt: '2030-01-01T00:00:00.000Z' });
  assert.deepEqual(fake.auth.createdTokens, [{ kind: 'join', ttlSeconds: 86400, neverExpires: false, uses: 10, labels: { rack: 'pi-shelf', site: 'lab' }, description: 'shelf' }]);
  assert.match(io.stderr.text, /^join token for up to 10 agents, valid until/);
});

test('tokens create --role: an API token with the coordinator\'s default lifetime (ttl 0, not never), no agent hint', async (t) => {
  const fake = await start(t);
  fake.auth.created = { token: 'af_api_builder', id: 'tok-2', expiresMs: 0 };
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['tokens', 'create', '--role', 'Builder', '--description', 'CI', '--output', 'json'], io), 0, io.stderr.text);
  assert.deepEqual(JSON.parse(io.stdout.text), { token: 'af_api_builder', id: 'tok-2', expiresAt: null });
  assert.equal(io.stderr.text, '');
  const viewer = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['tokens', 'create', '--role', 'viewer', '--ttl', '720h'], viewer), 0, viewer.stderr.text);
  assert.equal(await runCli(['tokens', 'create', '--role', 'viewer', '--ttl', '30d'], testIo('/', { ARCHFARM_COORDINATOR: fake.address })), 0);
  assert.equal(await runCli(['tokens', 'create', '--role', 'admin', '--ttl', 'never'], testIo('/', { ARCHFARM_COORDINATOR: fake.address })), 0);
  assert.equal(await runCli(['tokens', 'create', '--role', 'viewer', '--ttl', '1d12h'], testIo('/', { ARCHFARM_COORDINATOR: fake.address })), 0);
  assert.deepEqual(
    fake.auth.createdTokens.map((r) => [r.kind, r.ttlSeconds, r.neverExpires, r.description]),
    [
      ['builder', 0, false, 'CI'],
      ['viewer', 2_592_000, false, ''],
      ['viewer', 2_592_000, false, ''],
      ['admin', 0, true, ''],
      ['viewer', 129_600, false, ''],
    ],
  );
});

const BAD: [string[], RegExp][] = [
  [['--role', 'root'], /^error: --role: "root" is not one of admin, builder, viewer/],
  [['--role', 'admin', '--uses', '2'], /^error: --uses: applies to join tokens only, not to a --role admin API token/],
  [['--role', 'viewer', '--label', 'a=b'], /^error: --label: applies to join tokens only/],
  [['--ttl', '0'], /^error: --ttl: a join token must expire; give e.g. --ttl 1h/],
  [['--ttl', '1w'], /^error: --ttl: "1w" is not a duration/],
  [['--ttl', 'never'], /^error: --ttl: a join token must expire/],
  [['--role', 'viewer', '--ttl', '0'], /^error: --ttl: write --ttl never for a token that does not expire/],
  [['--uses', '0'], /^error: --uses: "0" is not a whole number of agents, 1 or more/],
  [['--uses', 'many'], /^error: --uses: "many" is not a whole number/],
  [['--label', 'rack'], /^error: --label: "rack" is not KEY=VALUE; write e.g. --label rack=pi-shelf/],
  [['--output', 'yaml'], /^error: --output: "yaml" is not one of text, json/],
];

for (const [extra, pattern] of BAD) {
  test(`tokens create ${extra.join(' ')} -> exit 2 before connecting`, async () => {
    const io = testIo('/');
    assert.equal(await runCli(['tokens', 'create', '--coordinator', '127.0.0.1:1', ...extra], io), ExitCode.badInput);
    assert.match(io.stderr.text, pattern);
    assert.equal(io.stdout.text, '');
  });
}

test('tokens create with a builder token: exit 5 in the coordinator words', async (t) => {
  const fake = await start(t);
  fake.auth.roles.set('af_builder', 'builder');
  fake.auth.refuse = (rpc, role) => (rpc === 'CreateToken' && role !== 'admin' ? { code: status.PERMISSION_DENIED, details: `this token's role ${role} may not create tokens` } : undefined);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address, ARCHFARM_TOKEN: 'af_builder' });
  assert.equal(await runCli(['tokens', 'create'], io), ExitCode.notAllowed);
  assert.equal(io.stderr.text, "error: this token's role builder may not create tokens\n");
  assert.equal(io.stdout.text, '');
});

test('agents revoke NAME: RevokeAgent, a note on stderr; unknown agent exit 1; builder exit 5', async (t) => {
  const fake = await start(t);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents', 'revoke', 'pi-1'], io), 0, io.stderr.text);
  assert.deepEqual(fake.auth.revoked, ['pi-1']);
  assert.equal(io.stdout.text, '');
  assert.equal(io.stderr.text, 'revoked pi-1\n');

  const unknown = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents', 'revoke', 'nope'], unknown), ExitCode.failure);
  assert.equal(unknown.stderr.text, `error: the coordinator at ${fake.address} has no agent "nope"; \`archfarm agents --all\` lists them\n`);

  fake.auth.roles.set('af_builder', 'builder');
  fake.auth.refuse = (rpc, role) => (rpc === 'RevokeAgent' && role !== 'admin' ? { code: status.PERMISSION_DENIED, details: `this token's role ${role} may not revoke agents` } : undefined);
  const builder = testIo('/', { ARCHFARM_COORDINATOR: fake.address, ARCHFARM_TOKEN: 'af_builder' });
  assert.equal(await runCli(['agents', 'revoke', 'pi-2'], builder), ExitCode.notAllowed);
  assert.equal(builder.stderr.text, "error: this token's role builder may not revoke agents\n");
  assert.deepEqual(fake.auth.revoked, ['pi-1']);

  const blank = testIo('/');
  assert.equal(await runCli(['agents', 'revoke', ' ', '--coordinator', '127.0.0.1:1'], blank), ExitCode.badInput);
});

test('tokens list: a table of id, kind, state, expiry, uses (never the token); JSON with states', async (t) => {
  const fake = await start(t);
  const base = { labels: {}, description: '', revokedMs: 0, createdMs: Date.UTC(2026, 0, 1) };
  fake.auth.tokens = [
    { ...base, id: 'a1', kind: 'admin', expiresMs: Date.UTC(2099, 0, 1), usesLeft: -1, description: 'initial admin token' },
    { ...base, id: 'j1', kind: 'join', expiresMs: Date.UTC(2026, 0, 2), usesLeft: 2, labels: { rack: 'pi' } },
    { ...base, id: 'b1', kind: 'builder', expiresMs: 0, usesLeft: -1, revokedMs: Date.UTC(2026, 0, 3) },
  ];
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['tokens', 'list'], io), 0, io.stderr.text);
  assert.deepEqual(io.stdout.lines.map((l) => l.split(/\s{3,}/).slice(0, 3)), [
    ['ID', 'KIND', 'STATE'],
    ['a1', 'admin', 'active'],
    ['j1', 'join', 'expired'],
    ['b1', 'builder', 'revoked'],
  ]);
  assert.match(io.stdout.lines[3]!, /never/);
  const json = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['tokens', 'list', '--output', 'json'], json), 0, json.stderr.text);
  const listed = JSON.parse(json.stdout.text) as Array<{ id: string; state: string; usesLeft: number | null; expiresAt: string | null }>;
  assert.deepEqual(listed.map((x) => [x.id, x.state, x.usesLeft, x.expiresAt]), [
    ['a1', 'active', null, '2099-01-01T00:00:00.000Z'],
    ['j1', 'expired', 2, '2026-01-02T00:00:00.000Z'],
    ['b1', 'revoked', null, null],
  ]);
});

test('tokens revoke ID: RevokeToken, a line on stderr; an unknown id is exit 1 in the coordinator words', async (t) => {
  const fake = await start(t);
  fake.auth.tokens = [{ id: 'b1', kind: 'builder', createdMs: 1, expiresMs: 0, usesLeft: -1, labels: {}, description: '', revokedMs: 0 }];
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['tokens', 'revoke', 'b1'], io), 0, io.stderr.text);
  assert.deepEqual(fake.auth.revokedTokens, ['b1']);
  assert.equal(io.stderr.text, 'revoked token b1\n');
  assert.equal(io.stdout.text, '');
  const unknown = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['tokens', 'revoke', 'zz'], unknown), 1);
  assert.match(unknown.stderr.text, /no token has id zz/);
  const bad = testIo('/');
  assert.equal(await runCli(['tokens', 'revoke', 'a b', '--coordinator', '127.0.0.1:1'], bad), ExitCode.badInput);
});
