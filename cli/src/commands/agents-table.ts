import { BuildMode, type AgentInfo } from '@archfarm/proto';
import { modeName } from '../progress/format';
import { formatLabels, formatTable, isoTime, timeAgo } from '../table';

/** Free text that may be cut to the terminal's width: platforms, labels, engine. */
const AGENT_SHRINK = [2, 4, 8];

/** An agent's state as `archfarm agents` shows it; a drained agent still connected is "drained". */
export type AgentStatus = 'connected' | 'disconnected' | 'drained';

/** One agent in `archfarm agents --output json`. */
export interface AgentJson {
  name: string;
  version: string;
  engine: string;
  /** The Node.js the agent runs on, e.g. "v18.19.0"; "" when the agent did not say. */
  node: string;
  slots: number;
  freeSlots: number;
  labels: Record<string, string>;
  platforms: { platform: string; mode: string }[];
  status: AgentStatus;
  connected: boolean;
  /** Takes no new jobs (`archfarm agents drain`); its running jobs finish. */
  drained: boolean;
  /** Jobs running on it now. */
  running: number;
  /** ISO 8601; null when the coordinator has never heard from it. */
  lastSeen: string | null;
}

export function agentStatus(agent: AgentInfo): AgentStatus {
  if (!agent.connected) return 'disconnected';
  return agent.drained ? 'drained' : 'connected';
}

/** The JSON keys from before drain and status stay as they were: scripts read them. */
export function agentJson(agent: AgentInfo): AgentJson {
  return {
    name: agent.name,
    version: agent.version,
    engine: agent.engine,
    node: agent.nodeVersion,
    slots: agent.slots,
    freeSlots: agent.freeSlots,
    labels: agent.labels,
    platforms: agent.platforms.map((p) => ({ platform: p.platform, mode: modeName(p.mode) })),
    status: agentStatus(agent),
    connected: agent.connected,
    drained: agent.drained,
    running: agent.running,
    lastSeen: isoTime(agent.lastSeenMs),
  };
}

/**
 * As `docker buildx ls`: one line per agent, native platforms marked `*`, slots used/total.
 * The engine description is long, so it comes last. `width`: the terminal's, if any.
 */
export function agentsTable(agents: readonly AgentInfo[], now: number, width?: number): string[] {
  const rows = [
    ['NAME', 'STATUS', 'PLATFORMS', 'SLOTS', 'LABELS', 'VERSION', 'NODE', 'LAST SEEN', 'ENGINE'],
    ...agents.map((a) => [
      a.name,
      agentStatus(a),
      a.platforms.map((p) => `${p.platform}${p.mode === BuildMode.BUILD_MODE_NATIVE ? '*' : ''}`).join(', ') || '-',
      `${a.running}/${a.slots}`,
      formatLabels(a.labels) || '-',
      a.version || '-',
      a.nodeVersion || '-',
      timeAgo(a.lastSeenMs, now),
      a.engine || '-',
    ]),
  ];
  return formatTable(rows, '', { width, shrink: AGENT_SHRINK });
}
