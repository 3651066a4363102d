import { status, type Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { certificateIdentity, type PeerIdentity } from '@archfarm/common';
import type { AgentIdentityRecord, Store } from '../store';
import { isRole, tokenHash, type Role } from './tokens';

/** The part of any grpc-js server call the access check reads. */
export interface CallLike {
  metadata: Metadata;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
  emit(event: 'error', err: unknown): boolean;
}

/**
 * Who is calling: an enrolled agent (by its certificate: the enrolment it belongs to and the
 * labels its join token gave it) or an operator (by API token).
 */
export type Identity =
  | { kind: 'agent'; name: string; identityId: string; labels: Record<string, string> }
  | { kind: 'operator'; role: Role; tokenId: string }
  | { kind: 'anonymous' };

/** A refusal the gRPC layer turns into a status; the message never holds a secret. */
export class AuthError extends Error {
  constructor(
    readonly grpcCode: status.UNAUTHENTICATED | status.PERMISSION_DENIED,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the caller's identity. A client certificate counts only when the TLS layer verified
 * it against this coordinator's CA (grpc-js reports no peer certificate otherwise) and it
 * was issued to the name's current enrolment: a certificate of a forgotten enrolment, or of
 * a revoked one, is refused here, so it cannot reconnect.
 */
export async function identify(call: CallLike, store: Store, now = Date.now()): Promise<Identity> {
  const peer = certificateIdentity(call.getAuthContext().sslPeerCertificate);
  if (peer) {
    const enrolment = await enrolmentOf(peer, store);
    if (!enrolment) {
      throw new AuthError(status.PERMISSION_DENIED, `this certificate of agent ${peer.name} belongs to an enrolment the coordinator no longer has (forgotten); enrol the agent again with a new join token`);
    }
    if (enrolment.revokedAt !== undefined) {
      throw new AuthError(status.PERMISSION_DENIED, `agent ${peer.name} was revoked; an admin can free the name with \`archfarm agents forget ${peer.name}\`, then enrol it again with a new join token`);
    }
    return { kind: 'agent', name: peer.name, identityId: enrolment.id, labels: enrolment.labels };
  }
  const token = bearer(call.metadata);
  if (token === undefined) return { kind: 'anonymous' };
  const record = await store.findToken(tokenHash(token));
  if (!record || !isRole(record.kind)) throw new AuthError(status.UNAUTHENTICATED, 'the API token is not known to this coordinator; run `archfarm login` with a valid token');
  if (record.revokedAt !== undefined) throw new AuthError(status.UNAUTHENTICATED, `the API token ${record.id} was revoked; ask an admin for a new one (\`archfarm tokens create --role ...\`)`);
  if (record.expiresAt !== undefined && record.expiresAt <= now) throw new AuthError(status.UNAUTHENTICATED, 'the API token has expired; ask an admin for a new one (`archfarm tokens create --role ...`)');
  return { kind: 'operator', role: record.kind, tokenId: record.id };
}

/**
 * The enrolment a certificate was issued to: by its serial, or, for an agent enrolled before
 * enrolments were kept, by name when the certificate predates that (legacyBefore).
 */
async function enrolmentOf(peer: PeerIdentity, store: Store): Promise<AgentIdentityRecord | undefined> {
  const bySerial = await store.agentIdentityByCertificate(peer.serialNumber);
  if (bySerial) return bySerial.name === peer.name ? bySerial : undefined;
  const byName = await store.agentIdentityByName(peer.name);
  return byName?.legacyBefore !== undefined && peer.notBefore.getTime() < byName.legacyBefore ? byName : undefined;
}

function bearer(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value);
  return match?.[1];
}
