import { status, type Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { certificateIdentity } from '@archfarm/common';
import type { Store } from '../store';
import { isRole, tokenHash, type Role } from './tokens';

/** The part of any grpc-js server call the access check reads. */
export interface CallLike {
  metadata: Metadata;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
  emit(event: 'error', err: unknown): boolean;
}

/** Who is calling: an enrolled agent (by its certificate) or an operator (by API token). */
export type Identity = { kind: 'agent'; name: string } | { kind: 'operator'; role: Role; tokenId: string } | { kind: 'anonymous' };

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
 * it against this coordinator's CA (grpc-js reports no peer certificate otherwise); a
 * revoked agent is refused here, so it cannot reconnect.
 */
export async function identify(call: CallLike, store: Store, now = Date.now()): Promise<Identity> {
  const peer = certificateIdentity(call.getAuthContext().sslPeerCertificate);
  if (peer) {
    if (await store.isRevoked(peer.name)) throw new AuthError(status.PERMISSION_DENIED, `agent ${peer.name} was revoked; enrol it again under a new name with a new join token`);
    return { kind: 'agent', name: peer.name };
  }
  const token = bearer(call.metadata);
  if (token === undefined) return { kind: 'anonymous' };
  const record = await store.findToken(tokenHash(token));
  if (!record || !isRole(record.kind)) throw new AuthError(status.UNAUTHENTICATED, 'the API token is not known to this coordinator; run `archfarm login` with a valid token');
  if (record.expiresAt !== undefined && record.expiresAt <= now) throw new AuthError(status.UNAUTHENTICATED, 'the API token has expired; ask an admin for a new one (`archfarm tokens create --role ...`)');
  return { kind: 'operator', role: record.kind, tokenId: record.id };
}

function bearer(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value);
  return match?.[1];
}
