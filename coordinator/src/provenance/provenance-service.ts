import type { GetKeyResponse, ProvenanceServiceServer } from '@archfarm/proto';
import { unary } from '../services/unary';
import type { SigningKey } from './signing-key';

/** ProvenanceService: the public half of the signing key, for any known caller (security/rules.ts). */
export function provenanceService(key: SigningKey): ProvenanceServiceServer {
  const answer: GetKeyResponse = { keyid: key.keyId, publicKeyPem: key.publicKeyPem };
  return { getKey: unary(() => answer) };
}
