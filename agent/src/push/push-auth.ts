import type { RegistryClientOptions } from '@archfarm/common';
import type { Assign } from '@archfarm/proto';

/**
 * How this attempt authenticates its push to `registry`/`repository`: the bearer token the
 * coordinator fetched for exactly that repository when there is one (token-auth registries:
 * the agent never sees a password for them), else the credentials the spec carries for that
 * registry (Basic), else nothing. Both live only in this process's memory, for this job.
 */
export function pushAuth(assign: Assign, registry: string, repository: string): Pick<RegistryClientOptions, 'bearerToken' | 'credentials'> {
  const token = assign.tokens.find((t) => t.registry === registry && t.repository === repository);
  if (token) return { bearerToken: token.token };
  const auth = assign.spec?.auths.find((a) => a.registry === registry);
  return auth ? { credentials: { username: auth.username, password: auth.password } } : {};
}
