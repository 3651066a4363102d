import { InvalidInputError } from '@archfarm/common';
import { TokenExpiredError, TokenRevokedError, TokenUnknownError, TokenUsedUpError } from './errors';
import { checkCount, isStringMap } from './record-rules';
import type { AgentCertificateRecord, AgentIdentityRecord } from './store-identities';
import type { TokenKind, TokenRecord } from './store-security';

/* Rules both stores share for tokens, revocations and registry credentials (see ./record-rules). */

export const TOKEN_KINDS: readonly TokenKind[] = ['join', 'admin', 'builder', 'viewer'];

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A token the store could not read back, or could not match by hash, is refused. Messages never quote the hash. */
export function checkToken(token: TokenRecord): void {
  if (typeof token.id !== 'string' || token.id === '') throw new InvalidInputError('token.id', 'must be a non-empty string');
  checkTokenHash(token.hash);
  if (!TOKEN_KINDS.includes(token.kind)) throw new InvalidInputError('token.kind', `must be one of ${TOKEN_KINDS.join(', ')}, got ${JSON.stringify(token.kind)}`);
  checkCount('token.createdAt', token.createdAt);
  if (token.expiresAt !== undefined) checkCount('token.expiresAt', token.expiresAt);
  if (token.usesLeft !== undefined) checkCount('token.usesLeft', token.usesLeft);
  if (!isStringMap(token.labels)) throw new InvalidInputError('token.labels', 'must map label names to string values');
  if (typeof token.description !== 'string') throw new InvalidInputError('token.description', 'must be a string');
  if (token.revokedAt !== undefined) checkCount('token.revokedAt', token.revokedAt);
}

/**
 * The token as a store keeps it: TokenRecord's fields only, optional ones absent rather than
 * `undefined`, so that a MemoryStore read equals a SqliteStore read. A copy.
 */
export function normaliseToken(t: TokenRecord): TokenRecord {
  const { id, hash, kind, createdAt, expiresAt, usesLeft, labels, description, revokedAt } = t;
  return {
    id,
    hash,
    kind,
    createdAt,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(usesLeft === undefined ? {} : { usesLeft }),
    labels: { ...labels },
    description,
    ...(revokedAt === undefined ? {} : { revokedAt }),
  };
}

function checkTokenHash(hash: string): void {
  if (typeof hash !== 'string' || !SHA256_HEX.test(hash)) throw new InvalidInputError('token.hash', 'must be a sha256 digest as 64 lowercase hex digits');
}

/**
 * The join token after one use at `now`, or the refusal: unknown (absent or not a join
 * token), revoked, expired (`now` at or past expiresAt), used up. Checked in that order.
 */
export function redeemJoinToken(token: TokenRecord | undefined, now: number): TokenRecord {
  if (!token || token.kind !== 'join') throw new TokenUnknownError();
  if (token.revokedAt !== undefined) throw new TokenRevokedError(token.id);
  if (token.expiresAt !== undefined && now >= token.expiresAt) throw new TokenExpiredError(token.id, token.expiresAt);
  if (token.usesLeft === 0) throw new TokenUsedUpError(token.id);
  return token.usesLeft === undefined ? token : { ...token, usesLeft: token.usesLeft - 1 };
}

export function checkAgentName(name: string): void {
  if (typeof name !== 'string' || name === '') throw new InvalidInputError('agent', 'must be a non-empty name');
}

export function checkRegistryCredential(registry: string, username: string, ciphertext: Buffer): void {
  if (typeof registry !== 'string' || registry === '') throw new InvalidInputError('registry', 'must be a non-empty registry host');
  if (typeof username !== 'string') throw new InvalidInputError('username', 'must be a string');
  if (!Buffer.isBuffer(ciphertext) || ciphertext.length === 0) throw new InvalidInputError('ciphertext', 'must be a non-empty Buffer');
}

/** Whether a token works at `now`: not revoked, not expired (uses are a join token's own matter). */
export function tokenUsable(token: TokenRecord, now: number): boolean {
  return token.revokedAt === undefined && (token.expiresAt === undefined || now < token.expiresAt);
}

/** Tokens as listTokens orders them: oldest first, ties by id. */
export function byCreation(a: TokenRecord, b: TokenRecord): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function checkIdentity(identity: AgentIdentityRecord, certificate: AgentCertificateRecord): void {
  if (typeof identity.id !== 'string' || identity.id === '') throw new InvalidInputError('identity.id', 'must be a non-empty string');
  checkAgentName(identity.name);
  checkCount('identity.enrolledAt', identity.enrolledAt);
  if (typeof identity.tokenId !== 'string') throw new InvalidInputError('identity.tokenId', 'must be a string');
  if (!isStringMap(identity.labels)) throw new InvalidInputError('identity.labels', 'must map label names to string values');
  if (identity.revokedAt !== undefined) checkCount('identity.revokedAt', identity.revokedAt);
  if (identity.legacyBefore !== undefined) checkCount('identity.legacyBefore', identity.legacyBefore);
  checkCertificate(certificate);
}

export function checkCertificate(certificate: AgentCertificateRecord): void {
  if (typeof certificate.serial !== 'string' || !/^[0-9A-F]+$/.test(certificate.serial)) throw new InvalidInputError('certificate.serial', 'must be upper-case hex');
  checkCount('certificate.notAfter', certificate.notAfter);
}

/** The identity as a store keeps it: optional fields absent rather than undefined; a copy. */
export function normaliseIdentity(i: AgentIdentityRecord): AgentIdentityRecord {
  const { id, name, enrolledAt, tokenId, labels, revokedAt, legacyBefore } = i;
  return {
    id,
    name,
    enrolledAt,
    tokenId,
    labels: { ...labels },
    ...(revokedAt === undefined ? {} : { revokedAt }),
    ...(legacyBefore === undefined ? {} : { legacyBefore }),
  };
}
