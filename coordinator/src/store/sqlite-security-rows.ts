import { StoreDataError } from './errors';
import { isStringMap } from './record-rules';
import { TOKEN_KINDS } from './security-rules';
import { dropNulls, oneOf, parse } from './sqlite-decode';
import type { AgentIdentityRecord } from './store-identities';
import type { TokenRecord } from './store-security';

/* Security records <-> SQLite rows: token labels are JSON text, absent limits are NULL. */

export interface TokenRow {
  id: string;
  hash: string;
  kind: string;
  created_at: number;
  expires_at: number | null;
  uses_left: number | null;
  labels: string;
  description: string;
  revoked_at: number | null;
}

export interface AgentIdentityRow {
  id: string;
  name: string;
  enrolled_at: number;
  token_id: string;
  labels: string;
  revoked_at: number | null;
  legacy_before: number | null;
}

export interface RegistryCredentialRow {
  registry: string;
  username: string;
  secret: Buffer;
  updated_at: number;
}

export function tokenToRow(t: TokenRecord): TokenRow {
  return {
    id: t.id,
    hash: t.hash,
    kind: t.kind,
    created_at: t.createdAt,
    expires_at: t.expiresAt ?? null,
    uses_left: t.usesLeft ?? null,
    labels: JSON.stringify(t.labels),
    description: t.description,
    revoked_at: t.revokedAt ?? null,
  };
}

/** Errors name the token by id only, never by hash. */
export function tokenFromRow(r: TokenRow): TokenRecord {
  const what = `token ${r.id}`;
  const labels = parse<unknown>(r.labels, what);
  if (!isStringMap(labels)) throw new StoreDataError(what, 'labels is not a map of strings');
  return dropNulls({
    id: r.id,
    hash: r.hash,
    kind: oneOf(r.kind, TOKEN_KINDS, what),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    usesLeft: r.uses_left,
    labels,
    description: r.description,
    revokedAt: r.revoked_at,
  });
}

export function identityToRow(i: AgentIdentityRecord): AgentIdentityRow {
  return {
    id: i.id,
    name: i.name,
    enrolled_at: i.enrolledAt,
    token_id: i.tokenId,
    labels: JSON.stringify(i.labels),
    revoked_at: i.revokedAt ?? null,
    legacy_before: i.legacyBefore ?? null,
  };
}

export function identityFromRow(r: AgentIdentityRow): AgentIdentityRecord {
  const what = `agent identity ${r.id}`;
  const labels = parse<unknown>(r.labels, what);
  if (!isStringMap(labels)) throw new StoreDataError(what, 'labels is not a map of strings');
  return dropNulls({ id: r.id, name: r.name, enrolledAt: r.enrolled_at, tokenId: r.token_id, labels, revokedAt: r.revoked_at, legacyBefore: r.legacy_before });
}
