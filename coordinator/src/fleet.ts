import { EventEmitter } from 'node:events';
import type { Platform } from '@archfarm/common';
import type { CoordinatorMessage, ModeName } from '@archfarm/proto';
import type { AgentMachineRecord } from './store';

/** What a connected agent told the coordinator in its Hello. */
export interface AgentProfile {
  name: string;
  version: string;
  /** The Node.js it runs on (e.g. "v18.19.0"); empty from agents that do not say. */
  nodeVersion: string;
  engine: string;
  labels: Record<string, string>;
  platforms: Array<{ platform: Platform; mode: ModeName }>;
  slots: number;
  /** Its engine, machine and certificate, for provenance; absent where no Hello was read (tests). */
  machine?: AgentMachineRecord;
}

/** A live agent connection: its profile, the jobs it holds, and a way to talk to it. */
export interface ConnectedAgent extends AgentProfile {
  connectionId: string;
  connectedAt: number;
  /** Last message from it (heartbeats included). */
  lastSeen: number;
  send(message: CoordinatorMessage): void;
  /** Ends the stream (e.g. another connection took the name). */
  close(reason: string): void;
}

/**
 * The agents connected right now, by name. A second connection under a name replaces the
 * first (a Pi that rebooted reconnects before the old TCP connection times out).
 */
export class Fleet extends EventEmitter<{ changed: []; joined: [ConnectedAgent]; lost: [ConnectedAgent] }> {
  private readonly agents = new Map<string, ConnectedAgent>();
  /** Names of drained agents, connected or not: they get no new jobs. */
  private readonly drainedNames = new Set<string>();

  add(agent: ConnectedAgent): void {
    const previous = this.agents.get(agent.name);
    this.agents.set(agent.name, agent);
    if (previous) {
      previous.close(`replaced by a new connection of ${agent.name}`);
      this.emit('lost', previous);
    }
    this.emit('joined', agent);
    this.emit('changed');
  }

  /** Removes the agent if this exact connection is still the current one. */
  remove(agent: ConnectedAgent): void {
    if (this.agents.get(agent.name)?.connectionId !== agent.connectionId) return;
    this.agents.delete(agent.name);
    this.emit('lost', agent);
    this.emit('changed');
  }

  isDrained(name: string): boolean {
    return this.drainedNames.has(name);
  }

  setDrained(name: string, drained: boolean): void {
    if (drained) this.drainedNames.add(name);
    else this.drainedNames.delete(name);
    this.emit('changed');
  }

  /** Capabilities changed (a re-probe): the scheduler looks again. */
  update(agent: ConnectedAgent, platforms: AgentProfile['platforms']): void {
    agent.platforms = platforms;
    this.emit('joined', agent);
    this.emit('changed');
  }

  /** Sends to the agent's current connection (AgentPort); false when it is not connected. */
  send(name: string, message: CoordinatorMessage): boolean {
    const agent = this.agents.get(name);
    agent?.send(message);
    return agent !== undefined;
  }

  get(name: string): ConnectedAgent | undefined {
    return this.agents.get(name);
  }

  list(): ConnectedAgent[] {
    return [...this.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
