import { ServerInterceptingCall, ServerListenerBuilder, ResponderBuilder, type Metadata, type ServerInterceptor } from '@grpc/grpc-js';
import {
  ACCEPTED_PROTOCOLS,
  ARCHFARM_VERSION,
  parseProtocol,
  PROTOCOL_VERSION,
  programName,
  protocolMismatch,
  VERSION_HEADERS,
  type Logger,
  type ProtocolMismatchError,
} from '@archfarm/common';
import { VersionServiceService } from '@archfarm/proto';
import { toServiceError } from '../services/grpc-errors';

/** This coordinator as a protocol check names it. */
const THIS_COORDINATOR = { name: `this coordinator (${ARCHFARM_VERSION})`, protocol: PROTOCOL_VERSION, accepts: ACCEPTED_PROTOCOLS, upgrade: 'the coordinator' };

/** What a caller says of itself; `protocol` as sent (undefined: older than versioning). */
export interface CallerVersion {
  readonly program: string | undefined;
  readonly version: string | undefined;
  readonly protocol: string | number | undefined;
}

/**
 * Whether this coordinator serves a caller (a CLI by its headers, an agent by its Hello):
 * undefined when it does, else the error that names both sides. Pure.
 */
export function refuseCaller(caller: CallerVersion): ProtocolMismatchError | undefined {
  const program = caller.program || 'CLI or agent';
  const protocol = typeof caller.protocol === 'number' ? caller.protocol : parseProtocol(caller.protocol);
  const upgrade = program === 'cli' ? 'the CLI' : `the ${program}`;
  return protocolMismatch({ name: programName(program, caller.version), protocol, upgrade }, THIS_COORDINATOR);
}

/** GetVersion answers every caller: it is how a refused one learns why. */
const ALWAYS_ANSWERED = new Set<string>([VersionServiceService.getVersion.path]);

/**
 * Refuses, before any handler runs, a call whose `archfarm-protocol` header this coordinator
 * does not accept (FAILED_PRECONDITION, `archfarm-code: PROTOCOL_MISMATCH`). A call without
 * the header is from a program older than versioning, which ACCEPTED_PROTOCOLS admits.
 * A server interceptor, so it covers every service, with or without TLS.
 */
export function protocolCheck(logger: Logger): ServerInterceptor {
  return (method, call) => {
    if (ALWAYS_ANSWERED.has(method.path)) return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const caller = callerOf(metadata);
        const refusal = refuseCaller(caller);
        if (!refusal) return next(metadata);
        logger.warn({ method: method.path, program: caller.program, version: caller.version, protocol: caller.protocol }, 'caller refused: protocol mismatch');
        const { code, details, metadata: trailers } = toServiceError(refusal);
        call.sendStatus({ code: code!, details: details!, metadata: trailers! });
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

function callerOf(metadata: Metadata): CallerVersion {
  const get = (key: string) => {
    const value = metadata.get(key)[0];
    return value === undefined ? undefined : String(value);
  };
  return { program: get(VERSION_HEADERS.program), version: get(VERSION_HEADERS.version), protocol: get(VERSION_HEADERS.protocol) };
}
