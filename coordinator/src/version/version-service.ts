import { ACCEPTED_PROTOCOLS, ARCHFARM_VERSION, PROTOCOL_VERSION } from '@archfarm/common';
import type { GetVersionResponse, VersionServiceServer } from '@archfarm/proto';
import { unary } from '../services/unary';

/** This coordinator's release and protocols, as GetVersion tells them. */
export function coordinatorVersion(): GetVersionResponse {
  return { version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION, minProtocol: ACCEPTED_PROTOCOLS.min, maxProtocol: ACCEPTED_PROTOCOLS.max };
}

/** VersionService: open to every caller (security/rules.ts), never refused for its protocol. */
export function versionService(): VersionServiceServer {
  return { getVersion: unary(() => coordinatorVersion()) };
}
