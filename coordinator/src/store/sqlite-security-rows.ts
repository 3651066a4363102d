import { StoreDataError } from './errors';
import { isStringMap } from './record-rules';
import { TOKEN_KINDS } from './security-rules';
import { dropNulls, oneOf, parse } from './sqlite-decode';
import type { RevokedAgentRecord, TokenRecord } from './store-security';

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
}

export interface RevokedAgentRow {
  name: string;
  revoked_at: number;
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
  });
}

export function revokedFromRow(r: RevokedAgentRow): RevokedAgentRecord {
  return { name: r.name, revokedAt: r.revoked_at };
}
