import type { ModeName } from '@archfarm/proto';
import type { Build } from '../builds/build';

/*
 * What the scrape-time gauges show, derived from the coordinator's state by pure functions:
 * a gauge read from state cannot drift from it the way a hand-kept count can.
 */

/** idle/busy/drained: connected; disconnected: known to the store, not connected now. */
export type AgentStateName = 'idle' | 'busy' | 'drained' | 'disconnected';

export interface AgentSnapshot {
  name: string;
  platforms: Array<{ platform: string; mode: ModeName }>;
  slots: number;
  /** Attempts it holds now (0 when disconnected). */
  running: number;
  connected: boolean;
  drained: boolean;
}

/** One series of archfarm_agents: how many agents offer this platform in this mode, in this state. */
export interface AgentSample {
  state: AgentStateName;
  platform: string;
  mode: ModeName;
  count: number;
}

export function agentState(agent: AgentSnapshot): AgentStateName {
  if (!agent.connected) return 'disconnected';
  if (agent.drained) return 'drained';
  return agent.running > 0 ? 'busy' : 'idle';
}

/** An agent counts once per platform it offers (a native amd64 and emulated arm64 agent is in two series). */
export function agentSamples(agents: AgentSnapshot[]): AgentSample[] {
  const counts = new Map<string, AgentSample>();
  for (const agent of agents) {
    const state = agentState(agent);
    for (const { platform, mode } of agent.platforms) {
      const key = `${state}\0${platform}\0${mode}`;
      const sample = counts.get(key) ?? { state, platform, mode, count: 0 };
      sample.count++;
      counts.set(key, sample);
    }
  }
  return [...counts.values()];
}

/** Slots of connected agents: in use (attempts held) and in all. */
export function slotSamples(agents: AgentSnapshot[]): { inUse: number; total: number } {
  const connected = agents.filter((a) => a.connected);
  return { inUse: connected.reduce((n, a) => n + a.running, 0), total: connected.reduce((n, a) => n + a.slots, 0) };
}

/** Jobs waiting in the queue (retry backoff included), per platform. */
export function queueDepth(builds: Build[]): Map<string, number> {
  const depth = new Map<string, number>();
  for (const build of builds) {
    if (build.state !== 'running') continue;
    for (const job of build.jobs) {
      if (job.state !== 'queued') continue;
      const platform = job.platform.toString();
      depth.set(platform, (depth.get(platform) ?? 0) + 1);
    }
  }
  return depth;
}
