import type { SimIdentity } from './certs';
import { SimulatedAgent, type PushedImage, type SimEvents } from './sim-agent';

export const SIM_PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];

export interface SimFleetOptions {
  address: string;
  caPem: string;
  identities: SimIdentity[];
  buildMs: number;
  image: (platform: string) => PushedImage;
  events: SimEvents;
  /** Connections opened at once. */
  batch?: number;
  onProgress?: (connected: number, ms: number) => void;
}

/**
 * Simulated agents, agent i native for SIM_PLATFORMS[i % 4] with one slot (a fleet of
 * single-purpose machines: Pis, arm64 servers, s390x LPARs). Connections open in batches
 * so start-up is not one TLS storm.
 */
export class SimFleet {
  private constructor(
    readonly agents: SimulatedAgent[],
    /** Time to connect every agent (TLS, Hello, Welcome). */
    readonly connectMs: number,
  ) {}

  static async start(options: SimFleetOptions): Promise<SimFleet> {
    const agents = options.identities.map(
      (identity, i) =>
        new SimulatedAgent({
          address: options.address,
          caPem: options.caPem,
          identity,
          platform: SIM_PLATFORMS[i % SIM_PLATFORMS.length]!,
          slots: 1,
          buildMs: options.buildMs,
          image: options.image,
          events: options.events,
        }),
    );
    const t0 = Date.now();
    const batch = options.batch ?? 100;
    try {
      for (let i = 0; i < agents.length; i += batch) {
        await Promise.all(agents.slice(i, i + batch).map((a) => a.connect()));
        if ((i + batch) % 1000 === 0) options.onProgress?.(i + batch, Date.now() - t0);
      }
    } catch (err) {
      for (const a of agents) a.close();
      throw err;
    }
    return new SimFleet(agents, Date.now() - t0);
  }

  stop(): void {
    for (const a of this.agents) a.close();
  }
}
