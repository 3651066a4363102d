import { createHash, randomBytes } from 'node:crypto';
import { InvalidInputError } from '@archfarm/common';
import { tokenUsable, type TokenRecord } from '../store';

export type TokenKind = 'join' | Role;
export type Role = 'admin' | 'builder' | 'viewer';

const PREFIX: Record<TokenKind, string> = { join: 'afj', admin: 'afa', builder: 'afb', viewer: 'afv' };

/** A new secret token: a kind prefix (so a leaked one is recognisable) and 256 random bits. */
export function newToken(kind: TokenKind): string {
  return `${PREFIX[kind]}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are stored only as this hash; the token itself is shown once. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const RANK: Record<Role, number> = { viewer: 0, builder: 1, admin: 2 };

/** Roles nest: an admin may do what a builder may, a builder what a viewer may. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export function isRole(kind: string): kind is Role {
  return kind === 'admin' || kind === 'builder' || kind === 'viewer';
}

/** A role token asked for without a lifetime expires after this (`--ttl never` for none). */
export const ROLE_TOKEN_TTL_MS = 90 * 24 * 3600_000;

/**
 * When a new token expires, or undefined for never. Role tokens: the asked lifetime, else
 * ROLE_TOKEN_TTL_MS, never only when asked for. Join tokens always expire: they let a
 * machine in, so one without a lifetime is refused.
 */
export function tokenExpiry(kind: TokenKind, ask: { ttlSeconds: number; neverExpires: boolean }, now: number): number | undefined {
  if (kind === 'join') {
    if (ask.neverExpires || ask.ttlSeconds <= 0) throw new InvalidInputError('ttl', 'a join token must expire; give e.g. --ttl 1h');
    return now + ask.ttlSeconds * 1000;
  }
  if (ask.neverExpires) {
    if (ask.ttlSeconds > 0) throw new InvalidInputError('ttl', 'give a lifetime or never, not both');
    return undefined;
  }
  return now + (ask.ttlSeconds > 0 ? ask.ttlSeconds * 1000 : ROLE_TOKEN_TTL_MS);
}

/**
 * Why revoking this token would lock every admin out, or undefined: it is the last admin
 * token that still works. Another admin token must be made first.
 */
export function lastAdminRefusal(tokens: readonly TokenRecord[], id: string, now: number): string | undefined {
  const target = tokens.find((t) => t.id === id);
  if (!target || target.kind !== 'admin' || !tokenUsable(target, now)) return undefined;
  if (tokens.some((t) => t.id !== id && t.kind === 'admin' && tokenUsable(t, now))) return undefined;
  return `token ${id} is the last working admin token; create another first (archfarm tokens create --role admin)`;
}
