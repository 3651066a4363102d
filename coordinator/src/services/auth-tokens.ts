import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '@archfarm/common';
import type { AuthServiceServer, TokenInfo } from '@archfarm/proto';
import { isRole, lastAdminRefusal, newToken, tokenExpiry, tokenHash } from '../security/tokens';
import type { TokenRecord } from '../store';
import type { AuthServiceDeps } from './auth-service';
import { unary } from './unary';

type TokenHandlers = Pick<AuthServiceServer, 'createToken' | 'listTokens' | 'revokeToken' | 'registryLogin' | 'registryLogout'>;

/** API and join tokens (create, list, revoke) and the registry logins the coordinator keeps. */
export function tokenHandlers(deps: AuthServiceDeps): TokenHandlers {
  return {
    createToken: unary(async (req) => {
      if (req.kind !== 'join' && !isRole(req.kind)) throw new InvalidInputError('role', `"${req.kind}" is not join, admin, builder or viewer`);
      const token = newToken(req.kind);
      const now = Date.now();
      const id = randomBytes(6).toString('hex');
      const expiresAt = tokenExpiry(req.kind, req, now);
      const usesLeft = req.kind === 'join' ? Math.max(1, req.uses) : undefined;
      await deps.store.createToken({ id, hash: tokenHash(token), kind: req.kind, createdAt: now, expiresAt, usesLeft, labels: req.labels, description: req.description });
      deps.logger.info({ tokenId: id, kind: req.kind, expiresAt, usesLeft }, 'token created');
      return { token, id, expiresMs: expiresAt ?? 0 };
    }),
    listTokens: unary(async () => ({ tokens: (await deps.store.listTokens()).map(tokenInfo) })),
    revokeToken: unary(async (req) => {
      const refusal = lastAdminRefusal(await deps.store.listTokens(), req.id, Date.now());
      if (refusal) throw new InvalidInputError('ID', refusal);
      const token = await deps.store.revokeToken(req.id, Date.now());
      deps.logger.warn({ tokenId: token.id, kind: token.kind }, 'token revoked');
      return {};
    }),
    registryLogin: unary(async (req) => {
      if (!req.registry || !req.username) throw new InvalidInputError('registry', 'give a registry host[:port] and a username');
      await deps.store.putRegistryCredential(req.registry, req.username, deps.secrets.seal(req.password), Date.now());
      deps.logger.info({ registry: req.registry, username: req.username }, 'registry credentials stored');
      return {};
    }),
    registryLogout: unary(async (req) => {
      if (!req.registry) throw new InvalidInputError('registry', 'give a registry host[:port]');
      const removed = await deps.store.deleteRegistryCredential(req.registry);
      deps.logger.info({ registry: req.registry, removed }, 'registry credentials removed');
      return { removed };
    }),
  };
}

/** A token as an admin sees it: never its text or hash. */
function tokenInfo(t: TokenRecord): TokenInfo {
  return {
    id: t.id,
    kind: t.kind,
    createdMs: t.createdAt,
    expiresMs: t.expiresAt ?? 0,
    usesLeft: t.usesLeft ?? -1,
    labels: t.labels,
    description: t.description,
    revokedMs: t.revokedAt ?? 0,
  };
}
