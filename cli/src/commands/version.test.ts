import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCEPTED_PROTOCOLS, ARCHFARM_VERSION, PROTOCOL_VERSION } from '@archfarm/common';
import { versionReport } from './version';

const ADDR = '10.0.0.5:7420';

test('a coordinator of this release is compatible', () => {
  const { json, mismatch } = versionReport(ADDR, { version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION, minProtocol: ACCEPTED_PROTOCOLS.min, maxProtocol: ACCEPTED_PROTOCOLS.max });
  assert.equal(mismatch, undefined);
  assert.deepEqual(json, {
    cli: { version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION, accepts: ACCEPTED_PROTOCOLS },
    coordinator: { address: ADDR, version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION, accepts: ACCEPTED_PROTOCOLS },
    compatible: true,
  });
});

test('a coordinator that accepts only newer protocols: upgrade the CLI', () => {
  const { json, mismatch } = versionReport(ADDR, { version: '9.0.0', protocol: PROTOCOL_VERSION + 5, minProtocol: PROTOCOL_VERSION + 1, maxProtocol: PROTOCOL_VERSION + 5 });
  assert.equal(json.compatible, false);
  assert.equal(mismatch?.code, 'PROTOCOL_MISMATCH');
  assert.match(mismatch?.message ?? '', new RegExp(`^this archfarm CLI \\(${ARCHFARM_VERSION}\\) speaks protocol ${PROTOCOL_VERSION}; the coordinator at ${ADDR} \\(9\\.0\\.0\\) accepts .*: upgrade the CLI$`));
});

test('a coordinator without GetVersion is older than versioning, which this CLI still works with', () => {
  const { json, mismatch } = versionReport(ADDR, undefined);
  assert.equal(mismatch, undefined);
  assert.equal(json.coordinator.version, null);
  assert.equal(json.coordinator.protocol, 0);
});
