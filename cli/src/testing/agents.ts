import type { AgentInfo } from '@archfarm/proto';

/** A connected agent as ListAgents reports it, with the defaults ts-proto would decode. */
export function agentInfo(name: string, over: Partial<AgentInfo> = {}): AgentInfo {
  return {
    name,
    version: '0.1.0',
    platforms: [],
    slots: 1,
    freeSlots: 1,
    engine: 'docker 24.0.7',
    nodeVersion: 'v20.11.0',
    connectedAtMs: 0,
    labels: {},
    connected: true,
    drained: false,
    lastSeenMs: 0,
    running: 0,
    ...over,
  };
}
