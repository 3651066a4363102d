import { MODES, oneOf, parse } from './sqlite-decode';
import type { AgentMachineRecord, AgentRecord } from './store';

/* AgentRecord <-> agents row: platforms and labels are JSON text, booleans are 0/1. */

export interface AgentRow {
  name: string;
  version: string;
  node_version: string;
  engine: string;
  platforms: string;
  slots: number;
  labels: string;
  first_seen: number;
  last_seen: number;
  connected: number;
  drained: number;
  /** AgentMachineRecord as JSON; NULL when the agent's connection told none. */
  machine: string | null;
}

export function agentToRow(a: AgentRecord): AgentRow {
  return {
    name: a.name,
    version: a.version,
    node_version: a.nodeVersion,
    engine: a.engine,
    platforms: JSON.stringify(a.platforms.map(({ platform, mode }) => ({ platform, mode }))),
    slots: a.slots,
    labels: JSON.stringify(a.labels),
    first_seen: a.firstSeen,
    last_seen: a.lastSeen,
    connected: a.connected ? 1 : 0,
    drained: a.drained ? 1 : 0,
    machine: a.machine ? JSON.stringify(a.machine) : null,
  };
}

export function agentFromRow(r: AgentRow): AgentRecord {
  const what = `agent ${r.name}`;
  return {
    name: r.name,
    version: r.version,
    nodeVersion: r.node_version,
    engine: r.engine,
    platforms: parse<Array<{ platform: string; mode: string }>>(r.platforms, what).map((p) => ({ platform: p.platform, mode: oneOf(p.mode, MODES, what) })),
    slots: r.slots,
    labels: parse<Record<string, string>>(r.labels, what),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    connected: r.connected === 1,
    drained: r.drained === 1,
    ...(r.machine === null ? {} : { machine: parse<AgentMachineRecord>(r.machine, what) }),
  };
}
