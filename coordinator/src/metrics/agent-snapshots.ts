import type { Fleet } from '../fleet';
import type { Holdings } from '../builds/holdings';
import type { Store } from '../store';
import type { AgentSnapshot } from './samples';

/**
 * Every agent the coordinator knows, for a scrape: the connected ones from memory (with the
 * attempts they hold), the ones gone from the store, as `archfarm agents --all` lists them.
 */
export async function agentSnapshots(fleet: Fleet, store: Pick<Store, 'listAgents'>, holdings: Pick<Holdings, 'count'>): Promise<AgentSnapshot[]> {
  const connected: AgentSnapshot[] = fleet.list().map((a) => ({
    name: a.name,
    platforms: a.platforms.map((p) => ({ platform: p.platform.toString(), mode: p.mode })),
    slots: a.slots,
    running: holdings.count(a.name),
    connected: true,
    drained: fleet.isDrained(a.name),
  }));
  const gone: AgentSnapshot[] = (await store.listAgents())
    .filter((r) => !fleet.get(r.name))
    .map((r) => ({ name: r.name, platforms: r.platforms, slots: r.slots, running: 0, connected: false, drained: r.drained }));
  return [...connected, ...gone];
}
