import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createLogger, HostPort } from '@archfarm/common';
import { ensureEnrolled, saveIdentity, SAVE_STEPS, type AgentIdentity } from '@archfarm/agent';
import { SecureCoordinator } from './support/secure-coordinator';

/*
 * Threat 9 (issue 15): renewal overwrote key.pem before cert.pem, so a power cut between the
 * two left a key that matched no certificate and the agent could not connect until it was
 * enrolled again. Now the new pair is staged whole and synced, renamed into place key first,
 * and a start after a crash at any step finds (and completes) a matching pair.
 */

let farm: SecureCoordinator;
const dirs: string[] = [];
before(async () => {
  farm = await SecureCoordinator.start();
});
after(async () => {
  await farm?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A crash: the save stops after `step` and nothing after it reaches the disk. */
class PowerCut extends Error {}

async function enrolled(name: string): Promise<{ stateDir: string; identity: AgentIdentity }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'archfarm-renewal-'));
  dirs.push(stateDir);
  const keys = await farm.enrol(name, await farm.joinToken(1));
  const identity = { ...keys, caPem: farm.caPem.toString(), notAfter: new Date(new X509Certificate(keys.certPem).validTo) };
  await saveIdentity(join(stateDir, 'tls'), identity);
  return { stateDir, identity };
}

/** What the agent does on start: load its identity (no join token: re-enrolment is impossible), then connect over mTLS. */
async function startAndConnect(name: string, stateDir: string): Promise<AgentIdentity> {
  const identity = await ensureEnrolled({ coordinator: farm.address, coordinatorAddress: HostPort.parse(farm.address, 'farm', { example: '127.0.0.1:7420' }), name, stateDir }, createLogger('archfarm-agent', 'silent'));
  const stream = await farm.connect(name, identity);
  stream.close();
  return identity;
}

for (const step of SAVE_STEPS) {
  test(`a power cut after renewal step "${step}": the agent starts and connects without re-enrolment`, async () => {
    const name = `renew-${step}`;
    const { stateDir, identity } = await enrolled(name);
    const renewed = await farm.renew(name, identity);
    const next = { ...renewed, caPem: identity.caPem, notAfter: new Date(new X509Certificate(renewed.certPem).validTo) };
    await assert.rejects(
      saveIdentity(join(stateDir, 'tls'), next, (at) => {
        if (at === step) throw new PowerCut(at);
      }),
      PowerCut,
    );
    const loaded = await startAndConnect(name, stateDir);
    // The staged pair is complete once staged: from then on the start finishes the renewal.
    assert.equal(loaded.certPem, renewed.certPem, 'the renewed certificate is the one in use');
    assert.equal(loaded.keyPem, renewed.keyPem);
    assert.deepEqual((await readdir(join(stateDir, 'tls'))).sort(), ['ca.pem', 'cert.pem', 'key.pem'], 'the recovery leaves no staged files behind');
    // And the next start reads the same pair straight from key.pem and cert.pem.
    assert.equal((await startAndConnect(name, stateDir)).certPem, renewed.certPem);
  });
}

test('a power cut while the new key is still being staged (a torn key.pem.next): the old pair is used', async () => {
  const name = 'renew-torn';
  const { stateDir, identity } = await enrolled(name);
  await farm.renew(name, identity);
  await writeFile(join(stateDir, 'tls', 'key.pem.next'), '-----BEGIN PRIVATE KEY-----\nMIIE');
  const loaded = await startAndConnect(name, stateDir);
  assert.equal(loaded.certPem, identity.certPem);
});
