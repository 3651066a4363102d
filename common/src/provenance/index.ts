/** archfarm's provenance format: in-toto/SLSA statements, DSSE envelopes and the names of the attestation manifest. */
export * from './constants';
export * from './errors';
export * from './statement';
export { pae, keyId, publicKeyPem, signEnvelope, verifyEnvelope, type DsseEnvelope, type DsseSignature, type KeyInput } from './dsse';
