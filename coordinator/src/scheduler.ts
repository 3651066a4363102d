import type { Platform } from '@archfarm/common';
import type { ModeName } from '@archfarm/proto';

/** The part of an agent the scheduler looks at. */
export interface AgentView {
  name: string;
  platforms: ReadonlyArray<{ platform: Platform; mode: ModeName }>;
  slots: number;
  /** Jobs it runs now. */
  busy: number;
}

export interface Placement {
  agent: string;
  mode: ModeName;
}

/**
 * Agents that can build `platform`, best first: native before emulated (emulation is
 * 4-20x slower), then the most free slots (so one build's jobs spread over the fleet and
 * run at the same time), then the fewest running jobs, then by name for a stable order.
 */
export function rankAgents(platform: Platform, agents: readonly AgentView[]): Array<Placement & { free: number }> {
  const eligible = agents.flatMap((a) => {
    const support = a.platforms.find((p) => p.platform.equals(platform));
    return support ? [{ agent: a.name, mode: support.mode, free: a.slots - a.busy, busy: a.busy }] : [];
  });
  return eligible
    .sort(
      (x, y) =>
        modeRank(x.mode) - modeRank(y.mode) || y.free - x.free || x.busy - y.busy || x.agent.localeCompare(y.agent),
    )
    .map(({ agent, mode, free }) => ({ agent, mode, free }));
}

/** The best agent with a free slot, avoiding `avoid` (agents that failed this job) when others can. */
export function pickAgent(platform: Platform, agents: readonly AgentView[], avoid: ReadonlySet<string> = new Set()): Placement | undefined {
  const ready = rankAgents(platform, agents).filter((c) => c.free > 0);
  const pick = ready.find((c) => !avoid.has(c.agent)) ?? ready[0];
  return pick && { agent: pick.agent, mode: pick.mode };
}

/** Why a job for `platform` cannot be placed now, in words an operator can act on. */
export function waitingReason(platform: Platform, agents: readonly AgentView[]): string {
  const eligible = rankAgents(platform, agents);
  if (eligible.length > 0) {
    const names = eligible.map((c) => `${c.agent} (${c.mode})`).join(', ');
    return `all agents that build ${platform} are busy: ${names}`;
  }
  if (agents.length === 0) return `no agent is connected; start one with archfarm-agent --coordinator ...`;
  const served = agents.map((a) => `${a.name}: ${a.platforms.map((p) => p.platform.toString()).join(', ') || 'nothing'}`);
  return `no connected agent builds ${platform}, natively or emulated (connected: ${served.join('; ')}); enrol an agent on that CPU or one with QEMU for it`;
}

function modeRank(mode: ModeName): number {
  return mode === 'native' ? 0 : 1;
}
