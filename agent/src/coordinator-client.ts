import type { ChannelCredentials, ClientOptions } from '@grpc/grpc-js';
import { COORDINATOR_TLS_NAME, versionHeaders } from '@archfarm/common';
import { AgentServiceClient, AuthServiceClient, createClient, type AgentServiceService, type AuthServiceService, type TypedClient } from '@archfarm/proto';

/** Every coordinator certificate carries this name; agents dial by whatever address they were given. */
export const TLS_CHANNEL_OPTIONS = { 'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME, 'grpc.default_authority': COORDINATOR_TLS_NAME };

/** The agents' API of the coordinator: Connect, FetchContext, UploadLog, LogOffset (with a deadline). */
export type AgentCalls = TypedClient<AgentServiceClient, AgentServiceService>;
/** Enrol and RenewCertificate, each with a deadline. */
export type AuthCalls = TypedClient<AuthServiceClient, AuthServiceService>;

/** Every call says which agent release and protocol it is; unary calls get the factory's deadline. */
const SETTINGS = { headers: versionHeaders('agent') };

/** The one place the agent makes an AgentService client. */
export function agentServiceClient(address: string, credentials: ChannelCredentials, options: Partial<ClientOptions> = {}): AgentCalls {
  return createClient(AgentServiceClient, address, credentials, { ...TLS_CHANNEL_OPTIONS, ...options }, SETTINGS);
}

/** The one place the agent makes an AuthService client. */
export function authServiceClient(address: string, credentials: ChannelCredentials): AuthCalls {
  return createClient(AuthServiceClient, address, credentials, TLS_CHANNEL_OPTIONS, SETTINGS);
}
