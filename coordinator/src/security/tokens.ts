import { createHash, randomBytes } from 'node:crypto';

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
