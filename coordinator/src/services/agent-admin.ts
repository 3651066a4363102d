import { modeToWire, type AgentInfo } from '@archfarm/proto';
import { AgentNotFoundError } from '../errors';
import type { ConnectedAgent, Fleet } from '../fleet';
import type { AgentRecord, Store } from '../store';
import type { Holdings } from '../builds/holdings';

/**
 * The fleet as operators see it: connected agents from memory, known-but-gone ones from
 * the store; drain and resume persist, so a drained Pi stays drained across restarts.
 */
export class AgentAdmin {
  constructor(
    private readonly fleet: Fleet,
    private readonly store: Store,
    private readonly holdings: Pick<Holdings, 'count'>,
  ) {}

  async list(all: boolean): Promise<AgentInfo[]> {
    const connected = this.fleet.list().map((a) => this.connectedInfo(a));
    if (!all) return connected;
    const gone = (await this.store.listAgents()).filter((r) => !this.fleet.get(r.name)).map(storedInfo);
    return [...connected, ...gone].sort((a, b) => a.name.localeCompare(b.name));
  }

  async setDrained(name: string, drained: boolean): Promise<AgentInfo> {
    const stored = await this.store.getAgent(name);
    const live = this.fleet.get(name);
    if (!stored && !live) throw new AgentNotFoundError(name);
    if (stored) await this.store.setAgentDrained(name, drained);
    this.fleet.setDrained(name, drained);
    return live ? this.connectedInfo(live) : storedInfo({ ...stored!, drained });
  }

  private connectedInfo(agent: ConnectedAgent): AgentInfo {
    return {
      name: agent.name,
      version: agent.version,
      platforms: agent.platforms.map((p) => ({ platform: p.platform.toString(), mode: modeToWire(p.mode) })),
      slots: agent.slots,
      freeSlots: Math.max(0, agent.slots - this.holdings.count(agent.name)),
      engine: agent.engine,
      connectedAtMs: agent.connectedAt,
      nodeVersion: agent.nodeVersion,
      labels: agent.labels,
      connected: true,
      drained: this.fleet.isDrained(agent.name),
      lastSeenMs: agent.lastSeen,
      running: this.holdings.count(agent.name),
    };
  }
}

function storedInfo(r: AgentRecord): AgentInfo {
  return {
    name: r.name,
    version: r.version,
    platforms: r.platforms.map((p) => ({ platform: p.platform, mode: modeToWire(p.mode) })),
    slots: r.slots,
    freeSlots: 0,
    engine: r.engine,
    connectedAtMs: 0,
    nodeVersion: r.nodeVersion,
    labels: r.labels,
    connected: false,
    drained: r.drained,
    lastSeenMs: r.lastSeen,
    running: 0,
  };
}
