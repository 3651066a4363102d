import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidInputError, caFingerprint } from '@archfarm/common';
import { readConfig, writeConfig } from './config-file';
import { resolveConnection } from './connection-settings';
import { ConfigFileInvalidError, NoCaError, NoTokenError } from './errors';
import { OTHER_TLS, TEST_TLS, testCaFile } from './testing/tls';

const FP = caFingerprint(TEST_TLS.caPem);
const OTHER_FP = caFingerprint(OTHER_TLS.caPem);

function configDir(t: { after: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'archfarm-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An environment whose config file holds `config`. */
function withConfig(t: { after: (fn: () => unknown) => void }, config: object, env: Record<string, string> = {}): Record<string, string> {
  const file = path.join(configDir(t), 'config.json');
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return { ARCHFARM_CONFIG: file, ...env };
}

function assertInvalid(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, String(err));
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    return true;
  });
}

test('flags over environment over config file: address, token and CA', (t) => {
  const env = withConfig(t, { coordinator: 'farm.example:7000', token: 'from-config', caPem: OTHER_TLS.caPem });
  const fromConfig = resolveConnection({}, env);
  assert.equal(fromConfig.address, 'farm.example:7000');
  assert.equal(fromConfig.token, 'from-config');
  assert.deepEqual(fromConfig.trust, { kind: 'ca', caPem: OTHER_TLS.caPem, source: env.ARCHFARM_CONFIG });
  assert.deepEqual(fromConfig.warnings, []);

  const fromEnv = resolveConnection({}, { ...env, ARCHFARM_COORDINATOR: 'env-host', ARCHFARM_TOKEN: 'from-env', ARCHFARM_CA_FILE: testCaFile() });
  assert.equal(fromEnv.address, 'env-host:7420');
  assert.equal(fromEnv.token, 'from-env');
  assert.equal(fromEnv.trust.kind === 'ca' && fromEnv.trust.caPem, TEST_TLS.caPem);

  const fromFlags = resolveConnection(
    { coordinator: '10.0.0.5', token: 'from-flag', caFingerprint: ` SHA256:${FP.slice(7).toUpperCase()} ` },
    { ...env, ARCHFARM_TOKEN: 'from-env', ARCHFARM_CA_FILE: testCaFile() },
  );
  assert.equal(fromFlags.address, '10.0.0.5:7420');
  assert.equal(fromFlags.token, 'from-flag');
  assert.deepEqual(fromFlags.trust, { kind: 'fingerprint', fingerprint: FP, field: '--ca-fingerprint' });
});

test('the first layer that speaks of trust decides; inside it, contradictions are errors', (t) => {
  const env = { ARCHFARM_CONFIG: path.join(configDir(t), 'none.json'), ARCHFARM_TOKEN: 'tok' };
  // The flag layer wins over the environment's fingerprint.
  const flagFile = resolveConnection({ caFile: testCaFile() }, { ...env, ARCHFARM_CA_FINGERPRINT: OTHER_FP });
  assert.equal(flagFile.trust.kind, 'ca');
  // A file and a fingerprint in one layer must agree.
  assert.equal(resolveConnection({ caFile: testCaFile(), caFingerprint: FP }, env).trust.kind, 'ca');
  assertInvalid(() => resolveConnection({ caFile: testCaFile(), caFingerprint: OTHER_FP }, env), '--ca-fingerprint', /is not the fingerprint of the CA in/);
  assertInvalid(() => resolveConnection({}, { ...env, ARCHFARM_CA_FILE: testCaFile(), ARCHFARM_CA_FINGERPRINT: OTHER_FP }), 'ARCHFARM_CA_FINGERPRINT', /is not the fingerprint/);
  assertInvalid(() => resolveConnection({ insecure: true, caFile: testCaFile() }, env), '--insecure', /turns TLS off, so --ca-file means nothing/);
  assertInvalid(() => resolveConnection({ caFingerprint: 'md5:abc' }, env), '--ca-fingerprint', /"md5:abc" is not a CA fingerprint/);
  assertInvalid(() => resolveConnection({ caFile: '/nonexistent/ca.pem' }, env), '--ca-file', /cannot read "\/nonexistent\/ca.pem"/);
  const notPem = path.join(configDir(t), 'ca.pem');
  writeFileSync(notPem, 'hello');
  assertInvalid(() => resolveConnection({}, { ...env, ARCHFARM_CA_FILE: notPem }), 'ARCHFARM_CA_FILE', /does not hold a PEM certificate/);
});

test('no CA anywhere is the login hint; no token is a hint too; neither quotes a token', (t) => {
  const env = { ARCHFARM_CONFIG: path.join(configDir(t), 'none.json') };
  assert.throws(
    () => resolveConnection({ coordinator: 'farm:7000', token: 'x' }, env),
    (err: unknown) =>
      err instanceof NoCaError &&
      err.message.startsWith('no CA for the coordinator at farm:7000: run `archfarm login --coordinator HOST:PORT --token T --ca-fingerprint sha256:...`'),
  );
  assert.throws(() => resolveConnection({ caFingerprint: FP }, env), (err: unknown) => err instanceof NoTokenError && /archfarm login/.test(err.message));
  // login checks a new token: no stored token is needed or used.
  const stored = withConfig(t, { token: 'stored', caPem: TEST_TLS.caPem });
  assert.equal(resolveConnection({}, stored, { useConfigToken: false }).token, undefined);
  assertInvalid(() => resolveConnection({ token: 'two words' }, stored), '--token', /holds spaces or control characters/);
  assert.throws(() => resolveConnection({ token: 'se cret' }, stored), (err: unknown) => !String(err).includes('se cret'));
});

test('--insecure: loopback only, a loud warning, and never the stored token', (t) => {
  const env = withConfig(t, { token: 'stored-secret', caPem: TEST_TLS.caPem });
  const insecure = resolveConnection({ insecure: true, coordinator: '127.0.0.1:7420' }, env);
  assert.deepEqual(insecure.trust, { kind: 'insecure', field: '--insecure' });
  assert.equal(insecure.token, undefined);
  assert.match(insecure.warnings[0]!, /^--insecure: talking to the coordinator at 127.0.0.1:7420 in plain text/);
  assert.equal(resolveConnection({ token: 'given' }, { ...env, ARCHFARM_INSECURE: '1', ARCHFARM_COORDINATOR: 'localhost:9' }).token, 'given');
  assert.equal(resolveConnection({ insecure: true, coordinator: '[::1]:7420' }, env).trust.kind, 'insecure');
  assert.equal(resolveConnection({ insecure: true, coordinator: 'unix:/run/archfarm.sock' }, env).trust.kind, 'insecure');
  assertInvalid(() => resolveConnection({ insecure: true, coordinator: '10.0.0.5:7420' }, env), '--insecure', /only for a dev coordinator on this machine/);
  assertInvalid(() => resolveConnection({}, { ...env, ARCHFARM_INSECURE: 'maybe' }), 'ARCHFARM_INSECURE', /is not 1 or 0/);
  // ARCHFARM_INSECURE=0 is off: the stored CA is used.
  assert.equal(resolveConnection({}, { ...env, ARCHFARM_INSECURE: '0' }).trust.kind, 'ca');
});

test('config file: written 0600 in a 0700 directory, read back; a bad one names the file, not its contents', (t) => {
  const dir = configDir(t);
  const env = { ARCHFARM_CONFIG: path.join(dir, 'nested', 'archfarm', 'config.json') };
  const file = writeConfig(env, { coordinator: 'farm:7420', token: 'secret-token', caPem: TEST_TLS.caPem });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
  assert.deepEqual(readConfig(env), { path: file, config: { coordinator: 'farm:7420', token: 'secret-token', caPem: TEST_TLS.caPem }, warning: undefined });
  // Default location: ~/.config/archfarm/config.json under $HOME.
  assert.equal(readConfig({ HOME: dir }).path, path.join(dir, '.config', 'archfarm', 'config.json'));

  writeFileSync(file, '{"token": "secret-token", nope');
  assert.throws(() => resolveConnection({}, env), (err: unknown) => {
    assert.ok(err instanceof ConfigFileInvalidError);
    assert.equal(err.message, `the archfarm config ${file} is not valid: it is not JSON; fix it or run \`archfarm login\` again`);
    assert.equal(err.cause, undefined, 'the parser quotes the text, which holds the token');
    return true;
  });
  writeFileSync(file, JSON.stringify({ token: 7 }));
  assert.throws(() => resolveConnection({}, env), /"token" is not a string/);
  writeFileSync(file, JSON.stringify({ token: 'x', caPem: 'not a certificate' }));
  assert.throws(() => resolveConnection({}, env), /"caPem" is not a PEM certificate/);
  // Readable by others: still used, with a warning.
  writeFileSync(file, JSON.stringify({ token: 'x', caPem: TEST_TLS.caPem }));
  chmodSync(file, 0o644);
  assert.match(resolveConnection({}, env).warnings[0]!, /holds an API token and others may read it \(mode 0644\); run chmod 600/);
});
