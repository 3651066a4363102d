import { credentials, type ChannelOptions } from '@grpc/grpc-js';
import { BuildServiceClient } from '@archfarm/proto';

/**
 * Keepalive pings notice a dead coordinator during a long, silent WatchBuild. The
 * coordinator's minimum ping interval must stay below this (DESIGN: connection model).
 */
const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 0,
};

/**
 * The one place a channel to the coordinator is made. Plain-text for now; TLS with the
 * coordinator's CA replaces the insecure credentials here and nowhere else.
 */
export function connectBuildService(address: string): BuildServiceClient {
  return new BuildServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
}
