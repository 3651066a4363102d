import type { ConnectedAgent, Fleet } from '../fleet';
import type { Holdings } from './holdings';
import type { FleetIndex } from '../scheduling/placement-pass';
import type { AgentView } from '../scheduling/placement-types';

/**
 * The fleet as placement sees it, kept between dispatcher passes and rebuilt only when an
 * agent joins, leaves, changes capabilities or is drained. With thousands of agents,
 * listing, sorting and copying them for every pass (several a second while jobs finish)
 * cost more than placing. A view's `busy` reads the agent's live job count, so views stay
 * right as jobs are assigned and finish (./holdings).
 */
export class FleetViews implements FleetIndex {
  private everyone: AgentView[] | undefined;
  private byPlatform: Map<string, AgentView[]> | undefined;

  constructor(
    private readonly fleet: Fleet,
    private readonly holdings: Pick<Holdings, 'count'>,
  ) {
    fleet.on('changed', () => {
      this.everyone = undefined;
      this.byPlatform = undefined;
    });
  }

  all(): readonly AgentView[] {
    this.everyone ??= this.fleet.list().map((a) => view(a, this.fleet.isDrained(a.name), this.holdings));
    return this.everyone;
  }

  serving(platform: string): readonly AgentView[] | undefined {
    if (!this.byPlatform) {
      const index = new Map<string, AgentView[]>();
      for (const v of this.all()) {
        for (const p of new Set(v.platforms.map((s) => s.platform.toString()))) {
          const list = index.get(p);
          if (list) list.push(v);
          else index.set(p, [v]);
        }
      }
      this.byPlatform = index;
    }
    return this.byPlatform.get(platform);
  }
}

function view(agent: ConnectedAgent, drained: boolean, holdings: Pick<Holdings, 'count'>): AgentView {
  return {
    name: agent.name,
    platforms: agent.platforms,
    slots: agent.slots,
    labels: agent.labels,
    drained,
    get busy() {
      return holdings.count(agent.name);
    },
  };
}
