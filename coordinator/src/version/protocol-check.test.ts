import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCEPTED_PROTOCOLS, ARCHFARM_VERSION, PROTOCOL_VERSION } from '@archfarm/common';
import { refuseCaller } from './protocol-check';

test('callers of this release and from before versioning are served', () => {
  assert.equal(refuseCaller({ program: 'cli', version: ARCHFARM_VERSION, protocol: String(PROTOCOL_VERSION) }), undefined);
  assert.equal(refuseCaller({ program: 'agent', version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION }), undefined);
  // No headers at all: a 0.1.0 CLI, a test's raw client.
  assert.equal(refuseCaller({ program: undefined, version: undefined, protocol: undefined }), undefined);
});

test('a caller outside the accepted protocols is refused by name, with who to upgrade', () => {
  const newer = refuseCaller({ program: 'cli', version: '9.0.0', protocol: String(ACCEPTED_PROTOCOLS.max + 1) });
  assert.equal(newer?.code, 'PROTOCOL_MISMATCH');
  assert.match(newer?.message ?? '', new RegExp(`^archfarm CLI 9\\.0\\.0 speaks protocol ${ACCEPTED_PROTOCOLS.max + 1}; this coordinator \\(${ARCHFARM_VERSION}\\) accepts .*: upgrade the coordinator$`));
  const agent = refuseCaller({ program: 'agent', version: '9.0.0', protocol: ACCEPTED_PROTOCOLS.max + 1 });
  assert.match(agent?.message ?? '', /^archfarm agent 9\.0\.0 speaks/);
  const junk = refuseCaller({ program: 'bench', version: undefined, protocol: 'two' });
  assert.match(junk?.message ?? '', /^archfarm bench \(older than versioning\) sent a protocol that is not a number;/);
});
