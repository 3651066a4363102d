import { status, type Metadata, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { AuthServiceServer, CreateTokenRequest, RegistryLoginRequest, TokenInfo } from '@archfarm/proto';
import { TEST_TOKEN } from './tls';

type Refusal = Partial<ServiceError> | undefined;

/**
 * The fake coordinator's access control and AuthService: it records the `authorization`
 * every call carried, answers WhoAmI from `roles`, and refuses a call when `refuse` says so.
 */
export class FakeAuth {
  /** "Rpc <authorization or ->" for every call, in order. */
  readonly calls: string[] = [];
  /** Known tokens and their roles; any other token (or none) is UNAUTHENTICATED when `checkTokens`. */
  readonly roles = new Map<string, string>([[TEST_TOKEN, 'admin']]);
  checkTokens = true;
  /** Lets a test refuse a call by RPC name and role, e.g. a viewer's SubmitBuild. */
  refuse: (rpc: string, role: string | undefined) => Refusal = () => undefined;
  readonly createdTokens: CreateTokenRequest[] = [];
  readonly revoked: string[] = [];
  readonly registryLogins: RegistryLoginRequest[] = [];
  readonly registryLogouts: string[] = [];
  readonly forgotten: string[] = [];
  readonly revokedTokens: string[] = [];
  /** What ListTokens answers. */
  tokens: TokenInfo[] = [];
  /** What CreateToken answers. */
  created = { token: 'af_join_secret_token', id: 'tok-1', expiresMs: Date.UTC(2030, 0, 1) };

  /** Records the call and says whether to refuse it. */
  check(rpc: string, metadata: Metadata): Refusal {
    const authorization = metadata.get('authorization')[0];
    this.calls.push(`${rpc} ${typeof authorization === 'string' ? authorization : '-'}`);
    const token = typeof authorization === 'string' ? /^Bearer (\S+)$/.exec(authorization)?.[1] : undefined;
    const role = token === undefined ? undefined : this.roles.get(token);
    if (this.checkTokens && role === undefined) {
      return { code: status.UNAUTHENTICATED, details: 'the API token is not known to this coordinator; run `archfarm login` with a valid token' };
    }
    return this.refuse(rpc, role);
  }

  roleOf(metadata: Metadata): string {
    const token = /^Bearer (\S+)$/.exec(String(metadata.get('authorization')[0] ?? ''))?.[1];
    return (token && this.roles.get(token)) ?? '';
  }

  service(): AuthServiceServer {
    const unimplemented = { code: status.UNIMPLEMENTED, details: 'not in the fake' };
    return {
      enrol: (_call, callback) => callback(unimplemented),
      renewCertificate: (_call, callback) => callback(unimplemented),
      createToken: (call, callback) => {
        this.createdTokens.push(call.request);
        callback(null, this.created);
      },
      revokeAgent: (call, callback) => {
        if (call.request.name === 'nope') return callback({ code: status.NOT_FOUND, details: `agent ${call.request.name} not found` });
        this.revoked.push(call.request.name);
        callback(null, {});
      },
      forgetAgent: (call, callback) => {
        if (call.request.name === 'nope') return callback({ code: status.NOT_FOUND, details: `agent ${call.request.name} is not known` });
        this.forgotten.push(call.request.name);
        callback(null, {});
      },
      listTokens: (_call, callback) => callback(null, { tokens: this.tokens }),
      revokeToken: (call, callback) => {
        if (!this.tokens.some((t) => t.id === call.request.id)) return callback({ code: status.NOT_FOUND, details: `no token has id ${call.request.id}` });
        this.revokedTokens.push(call.request.id);
        callback(null, {});
      },
      registryLogout: (call, callback) => {
        this.registryLogouts.push(call.request.registry);
        callback(null, { removed: this.registryLogins.some((l) => l.registry === call.request.registry) });
      },
      registryLogin: (call, callback) => {
        this.registryLogins.push(call.request);
        callback(null, {});
      },
      whoAmI: (call, callback) => callback(null, { role: this.roleOf(call.metadata), name: '' }),
    };
  }
}

/** Method names as the wire spells them: submitBuild -> SubmitBuild. */
function rpcName(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1);
}

type Handler = (call: { metadata: Metadata; emit(event: 'error', err: unknown): unknown }, callback?: (err: Refusal) => void) => void;

/** Wraps every handler of a service so `auth` sees (and may refuse) each call first. */
export function guarded(service: UntypedServiceImplementation, auth: FakeAuth): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(service)) {
    const wrapped: Handler = (call, callback) => {
      const refusal = auth.check(rpcName(method), call.metadata);
      if (refusal === undefined) return (handler as Handler)(call, callback);
      // Unary and client-streaming calls answer through the callback; server-streaming ones by an error.
      if (callback) callback(refusal);
      else call.emit('error', refusal);
    };
    out[method] = wrapped as UntypedServiceImplementation[string];
  }
  return out;
}
