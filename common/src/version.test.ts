import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolMismatchError } from './errors';
import { ACCEPTED_PROTOCOLS, ARCHFARM_VERSION, parseProtocol, PROTOCOL_VERSION, protocolMismatch, UNVERSIONED_PROTOCOL, versionHeaders } from './version';

const ROOT = join(__dirname, '..', '..');

test('every workspace package.json carries ARCHFARM_VERSION (bump them together)', () => {
  const { workspaces } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  assert.ok(workspaces.length >= 7 && readdirSync(ROOT).includes('cli'));
  for (const ws of workspaces) {
    const { version } = JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8')) as { version?: string };
    assert.equal(version, ARCHFARM_VERSION, `${ws}/package.json says ${version}; common/src/version.ts says ${ARCHFARM_VERSION}`);
  }
});

test('this release accepts itself and the programs from before versioning', () => {
  assert.ok(ACCEPTED_PROTOCOLS.min <= UNVERSIONED_PROTOCOL && ACCEPTED_PROTOCOLS.max >= PROTOCOL_VERSION);
  assert.deepEqual(versionHeaders('cli'), { 'archfarm-program': 'cli', 'archfarm-version': ARCHFARM_VERSION, 'archfarm-protocol': String(PROTOCOL_VERSION) });
});

test('a protocol is read from a header: absent is unversioned, junk is NaN', () => {
  assert.equal(parseProtocol(undefined), UNVERSIONED_PROTOCOL);
  assert.equal(parseProtocol(''), UNVERSIONED_PROTOCOL);
  assert.equal(parseProtocol('3'), 3);
  assert.ok(Number.isNaN(parseProtocol('3.1')));
  assert.ok(Number.isNaN(parseProtocol('-1')));
});

const coordinator = (accepts: { min: number; max: number }, protocol = accepts.max) => ({ name: 'this coordinator (2.0.0)', protocol, accepts, upgrade: 'the coordinator' });
const cli = (protocol: number) => ({ name: 'archfarm CLI 1.0.0', protocol, upgrade: 'the CLI' });

test('a peer outside the accepted range is refused by name, with who to upgrade', () => {
  assert.equal(protocolMismatch(cli(3), coordinator({ min: 2, max: 4 })), undefined);
  const old = protocolMismatch(cli(1), coordinator({ min: 2, max: 4 }));
  assert.ok(old instanceof ProtocolMismatchError);
  assert.equal(old.code, 'PROTOCOL_MISMATCH');
  assert.equal(old.message, 'archfarm CLI 1.0.0 speaks protocol 1; this coordinator (2.0.0) accepts protocols 2..4: upgrade the CLI');
  const young = protocolMismatch(cli(5), coordinator({ min: 2, max: 2 }));
  assert.equal(young?.message, 'archfarm CLI 1.0.0 speaks protocol 5; this coordinator (2.0.0) accepts protocol 2: upgrade the coordinator');
  assert.match(protocolMismatch(cli(Number.NaN), coordinator({ min: 0, max: 9 }))?.message ?? '', /sent a protocol that is not a number/);
});

test('both directions are checked when both sides say what they accept', () => {
  const self = { name: 'archfarm CLI 1.0.0', protocol: 1, accepts: { min: 1, max: 1 }, upgrade: 'the CLI' };
  // The coordinator would take the CLI, but speaks a protocol the CLI does not know.
  const newer = protocolMismatch(self, coordinator({ min: 1, max: 3 }, 3));
  assert.equal(newer?.message, 'this coordinator (2.0.0) speaks protocol 3; archfarm CLI 1.0.0 accepts protocol 1: upgrade the CLI');
});
