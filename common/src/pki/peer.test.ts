import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { test } from 'node:test';
import { PeerCertificateInvalidError } from './errors';
import { certificateIdentity } from './peer';

const peer = {
  raw: Buffer.from('der'),
  subject: { CN: 'pi-1' },
  valid_from: 'Mar  1 12:00:00 2025 GMT',
  valid_to: 'Mar  2 12:00:00 2025 GMT',
  fingerprint256: 'AA:BB',
  serialNumber: '4abc',
} as unknown as PeerCertificate;

test('certificateIdentity reads name, validity, fingerprint and serial', () => {
  assert.deepEqual(certificateIdentity(peer), {
    name: 'pi-1',
    notBefore: new Date('2025-03-01T12:00:00Z'),
    notAfter: new Date('2025-03-02T12:00:00Z'),
    fingerprint256: 'AA:BB',
    serialNumber: '4ABC',
  });
});

test('certificateIdentity: no certificate is anonymous, a certificate without one CN is refused', () => {
  assert.equal(certificateIdentity(undefined), undefined);
  assert.equal(certificateIdentity({} as PeerCertificate), undefined);
  for (const CN of [undefined, '', ['a', 'b']]) {
    assert.throws(() => certificateIdentity({ ...peer, subject: { CN } } as unknown as PeerCertificate), PeerCertificateInvalidError);
  }
  assert.throws(() => certificateIdentity({ ...peer, valid_to: 'soon' }), /unreadable validity/);
});
