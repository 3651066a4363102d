import type { TokenRecord } from './store-security';

/*
 * Who an enrolled agent is: one identity per name at a time, and the certificates issued to
 * it. Part of SecurityStore (./store-security). A name is taken from its first enrolment
 * until an admin forgets it (`archfarm agents forget NAME`), revoked or not, so a second join
 * token can never take over an enrolled name, and revoking one enrolment never refuses a
 * later one of the same name.
 */

/** One enrolment of an agent name. */
export interface AgentIdentityRecord {
  /** A public handle, random; never reused. */
  id: string;
  /** The agent's name, its certificates' CN. Unique among identities. */
  name: string;
  enrolledAt: number;
  /** The join token it enrolled with ('' for an agent enrolled before identities were kept). */
  tokenId: string;
  /** The join token's labels, copied at enrolment: they outrank what the agent says of itself. */
  labels: Record<string, string>;
  /** When an admin revoked it; its certificates are refused from then on. Absent: not revoked. */
  revokedAt?: number;
  /**
   * Agents enrolled before this store kept certificates (schema 8): a certificate with this
   * name issued (notBefore) before this time counts as this identity. Absent for new enrolments.
   */
  legacyBefore?: number;
}

/** A certificate issued to an identity, by serial (upper-case hex, as Node reports it). */
export interface AgentCertificateRecord {
  serial: string;
  notAfter: number;
}

export interface AgentIdentityStore {
  /**
   * Enrols an agent in one transaction: spends one use of the join token with `tokenHash`
   * (as useJoinToken), records the identity and its first certificate. Rejects, changing
   * nothing, with the join token refusals or AgentNameTakenError when the name has an
   * identity. Returns the join token after the use.
   */
  enrolAgent(identity: AgentIdentityRecord, certificate: AgentCertificateRecord, tokenHash: string, now: number): Promise<TokenRecord>;
  /**
   * Records a renewed certificate of an identity and drops those of its certificates that
   * expired before `now`. Rejects with StoreRecordNotFoundError('agent') when the identity is gone.
   */
  addAgentCertificate(identityId: string, certificate: AgentCertificateRecord, now: number): Promise<void>;
  /** The identity holding this name, or undefined. */
  agentIdentityByName(name: string): Promise<AgentIdentityRecord | undefined>;
  /** The identity this certificate serial was issued to, or undefined. */
  agentIdentityByCertificate(serial: string): Promise<AgentIdentityRecord | undefined>;
  /** Every identity, by name. */
  listAgentIdentities(): Promise<AgentIdentityRecord[]>;
  /**
   * Revokes the identity holding `name` (again: keeps the first time) and returns it; the
   * name stays taken. Rejects with StoreRecordNotFoundError('agent') when no identity holds it.
   */
  revokeAgent(name: string, now: number): Promise<AgentIdentityRecord>;
  /**
   * Frees the name: deletes its identity, that identity's certificates and the agent's record
   * (drained state, last seen). Whether there was anything to forget.
   */
  forgetAgent(name: string): Promise<boolean>;
}
