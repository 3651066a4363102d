import { status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { errorMessage, type Logger } from '@archfarm/common';
import type { Store } from '../store';
import { AuthError, identify, type CallLike, type Identity } from './identity';
import { roleAllows, type Role } from './tokens';

/** What a method needs: an agent certificate, an operator role, or nothing (Enrol checks its join token itself). */
export type Requirement = 'agent' | Role | 'public' | 'anyone-known';

const identities = new WeakMap<object, Identity>();

/** The identity the authorizer found for this call (set before the handler runs). */
export function identityOf(call: object): Identity {
  return identities.get(call) ?? { kind: 'anonymous' };
}

/**
 * Wraps every handler of a service with the one access check of the coordinator: nothing
 * runs before the caller is identified and allowed. Streamed requests wait (buffered by the
 * stream) until the check is done. Methods missing from `rules` are refused: a new RPC is
 * closed until someone decides who may call it.
 */
export function secure(
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
  rules: Record<string, Requirement>,
  deps: { store: Store; logger: Logger },
): UntypedServiceImplementation {
  const wrapped: UntypedServiceImplementation = {};
  for (const [method, spec] of Object.entries(definition)) {
    const handler = implementation[method] as (call: CallLike, callback?: (err: unknown) => void) => void;
    const need = rules[method];
    wrapped[method] = ((call: CallLike, callback?: (err: unknown) => void) => {
      const refuse = (code: status, details: string) => {
        if (callback) callback({ code, details });
        else call.emit('error', { code, details });
      };
      identify(call, deps.store)
        .then((who) => {
          const denial = need === undefined ? { code: status.PERMISSION_DENIED, message: `${method} is not open to anyone` } : check(who, need, spec.path);
          if (denial) return refuse(denial.code, denial.message);
          identities.set(call, who);
          handler(call, callback);
        })
        .catch((err: unknown) => {
          if (err instanceof AuthError) return refuse(err.grpcCode, err.message);
          deps.logger.error({ method, err: errorMessage(err) }, 'access check failed');
          refuse(status.INTERNAL, 'access check failed');
        });
    }) as UntypedServiceImplementation[string];
  }
  return wrapped;
}

function check(who: Identity, need: Requirement, path: string): { code: status; message: string } | undefined {
  const rpc = path.split('/').pop() ?? path;
  if (need === 'public') return undefined;
  if (who.kind === 'anonymous') {
    return need === 'agent'
      ? { code: status.UNAUTHENTICATED, message: `${rpc} needs a client certificate issued by this coordinator's CA: enrol the agent with --join-token and --ca-fingerprint` }
      : { code: status.UNAUTHENTICATED, message: `${rpc} needs an API token: run \`archfarm login --token ...\` or set ARCHFARM_TOKEN` };
  }
  if (need === 'anyone-known') return undefined;
  if (need === 'agent') return who.kind === 'agent' ? undefined : { code: status.PERMISSION_DENIED, message: `${rpc} is for agents; an operator token cannot act as an agent` };
  if (who.kind === 'agent') return { code: status.PERMISSION_DENIED, message: `an agent certificate (${who.name}) cannot call ${rpc}` };
  return roleAllows(who.role, need) ? undefined : { code: status.PERMISSION_DENIED, message: `this token's role ${who.role} may not call ${rpc} (needs ${need})` };
}
