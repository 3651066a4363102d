import {
  credentials,
  InterceptingCall,
  type ChannelCredentials,
  type ClientOptions,
  type Interceptor,
} from '@grpc/grpc-js';
import { COORDINATOR_TLS_NAME, HostPort, InvalidInputError, discoverCa, versionHeaders } from '@archfarm/common';
import {
  AuthServiceClient,
  BuildServiceClient,
  createClient,
  ProvenanceServiceClient,
  ScheduleServiceClient,
  VersionServiceClient,
  type AuthServiceService,
  type BuildServiceService,
  type ClientSettings,
  type ProvenanceServiceService,
  type ScheduleServiceService,
  type TypedClient,
  type VersionServiceService,
} from '@archfarm/proto';
import type { ConnectionSettings } from './connection-settings';
import { isSchemeAddress } from './options';
import { REATTACH } from './reattach';
import { fromServiceError, UNARY_DEADLINE_MS } from './rpc';

/**
 * Keepalive pings notice a dead coordinator during a long, silent WatchBuild. The
 * coordinator's minimum ping interval must stay below this (DESIGN: connection model).
 * A re-attach after a coordinator restart (reattach.ts) fails at once while the channel
 * waits out its own reconnect backoff: that backoff stops at REATTACH.maxDelayMs, not
 * grpc-js's 2 minutes, so a coordinator that is back is found within seconds.
 */
const CHANNEL_OPTIONS: ClientOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 0,
  'grpc.initial_reconnect_backoff_ms': REATTACH.firstDelayMs,
  'grpc.max_reconnect_backoff_ms': REATTACH.maxDelayMs,
};

/**
 * Every coordinator certificate names COORDINATOR_TLS_NAME, whatever address it is reached
 * by (an IP, a NAT'd port): check that name, not the one dialled.
 */
const TLS_OPTIONS: ClientOptions = {
  'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME,
  'grpc.default_authority': COORDINATOR_TLS_NAME,
};

/** A coordinator ready to be called: its address, the CA that proves it, the caller's token. */
export interface Connection {
  readonly address: string;
  /** undefined only for --insecure: plain text, nobody proven. */
  readonly caPem: string | undefined;
  readonly token: string | undefined;
}

/** Fetches the coordinator's CA and checks it against a pinned fingerprint; the pki module's by default. */
export type DiscoverCa = (host: string, port: number, fingerprint: string) => Promise<string>;

/**
 * Turns settings into a connection: prints their warnings, and fetches the CA when only
 * its fingerprint is known (the CA must hash to it, or this fails before any token is sent).
 */
export async function openConnection(settings: ConnectionSettings, warn: (message: string) => void, discover: DiscoverCa = discoverCa): Promise<Connection> {
  for (const w of settings.warnings) warn(w);
  const { address, token, trust } = settings;
  switch (trust.kind) {
    case 'insecure':
      return { address, caPem: undefined, token };
    case 'ca':
      return { address, caPem: trust.caPem, token };
    case 'fingerprint': {
      if (isSchemeAddress(address)) {
        throw new InvalidInputError(trust.field, `cannot fetch the CA from ${address}; give the coordinator as host:port, or the CA itself with --ca-file`);
      }
      const at = HostPort.parse(address, trust.field, { example: '10.0.0.5:7420' });
      return { address, caPem: await discover(at.hostname, at.port!, trust.fingerprint), token };
    }
  }
}

/** BuildService as the CLI calls it: unary methods are promises with a deadline and the CLI's errors. */
export type BuildCalls = TypedClient<BuildServiceClient, BuildServiceService>;
export type AuthCalls = TypedClient<AuthServiceClient, AuthServiceService>;
export type ScheduleCalls = TypedClient<ScheduleServiceClient, ScheduleServiceService>;
export type VersionCalls = TypedClient<VersionServiceClient, VersionServiceService>;
export type ProvenanceCalls = TypedClient<ProvenanceServiceClient, ProvenanceServiceService>;

/**
 * The one place a BuildService channel is made: TLS with the coordinator's CA, the token and
 * the CLI's version on every call, UNARY_DEADLINE_MS on each unary call.
 */
export function connectBuildService(conn: Connection): BuildCalls {
  return createClient(BuildServiceClient, conn.address, channelCredentials(conn), clientOptions(conn), callSettings(conn));
}

/** AuthService (login, tokens, revoke, registry login), connected as {@link connectBuildService}. */
export function connectAuthService(conn: Connection): AuthCalls {
  return createClient(AuthServiceClient, conn.address, channelCredentials(conn), clientOptions(conn), callSettings(conn));
}

/** ScheduleService (`archfarm schedules ...`), connected as {@link connectBuildService}. */
export function connectScheduleService(conn: Connection): ScheduleCalls {
  return createClient(ScheduleServiceClient, conn.address, channelCredentials(conn), clientOptions(conn), callSettings(conn));
}

/** VersionService (`archfarm version`), connected as {@link connectBuildService}. */
export function connectVersionService(conn: Connection): VersionCalls {
  return createClient(VersionServiceClient, conn.address, channelCredentials(conn), clientOptions(conn), callSettings(conn));
}

/** ProvenanceService (`archfarm provenance key`, `archfarm verify` without --key), connected as {@link connectBuildService}. */
export function connectProvenanceService(conn: Connection): ProvenanceCalls {
  return createClient(ProvenanceServiceClient, conn.address, channelCredentials(conn), clientOptions(conn), callSettings(conn));
}

/** Every call says it is this CLI (the coordinator refuses a protocol it does not accept); failures become the CLI's errors. */
function callSettings(conn: Connection): ClientSettings {
  return { deadlineMs: UNARY_DEADLINE_MS, headers: versionHeaders('cli'), mapError: (err, rpc) => fromServiceError(err, rpc, conn.address) };
}

function channelCredentials(conn: Connection): ChannelCredentials {
  return conn.caPem === undefined ? credentials.createInsecure() : credentials.createSsl(Buffer.from(conn.caPem));
}

/**
 * The token rides in an interceptor rather than CallCredentials: grpc-js refuses call
 * credentials on a plain-text channel, and --insecure with --token must still send it.
 */
function clientOptions(conn: Connection): ClientOptions {
  const tls = conn.caPem === undefined ? {} : TLS_OPTIONS;
  const interceptors = conn.token === undefined ? [] : [bearer(conn.token)];
  return { ...CHANNEL_OPTIONS, ...tls, interceptors };
}

/** Adds `authorization: Bearer <token>` to every call's metadata. */
function bearer(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', value);
        next(metadata, listener);
      },
    });
}
