import { Platform } from '@archfarm/common';
import type { ModeName } from '@archfarm/proto';
import { DurationHistory } from './history';
import { placementSettings } from './placement';
import type { AgentView, JobView } from './placement-types';

/** Synthetic agents, jobs and history for placement tests. */
export const arm64 = Platform.parse('linux/arm64');
export const s390x = Platform.parse('linux/s390x');
export const REPO = '127.0.0.1:5000/team/app';
export const settings = placementSettings();

export function agent(name: string, platforms: Record<string, ModeName>, extra: Partial<AgentView> = {}): AgentView {
  const served = Object.entries(platforms).map(([p, mode]) => ({ platform: Platform.parse(p), mode }));
  return { name, slots: 2, busy: 0, labels: {}, drained: false, platforms: served, ...extra };
}

/** A server that builds amd64 natively and arm64 and s390x under QEMU. */
export function server(name: string, extra: Partial<AgentView> = {}): AgentView {
  return agent(name, { 'linux/amd64': 'native', 'linux/arm64': 'emulated', 'linux/s390x': 'emulated' }, extra);
}

/** A Raspberry Pi: arm64 natively, one slot. */
export function pi(name: string, extra: Partial<AgentView> = {}): AgentView {
  return agent(name, { 'linux/arm64': 'native' }, { slots: 1, ...extra });
}

export function job(extra: Partial<JobView> = {}): JobView {
  return { platform: arm64, emulation: 'prefer-native', requireLabels: {}, repository: REPO, crossCompile: false, avoid: new Set(), waitedMs: 0, ...extra };
}

/** History with `count` builds of REPO for arm64 on each agent, `ms` each, in the order given. */
export function history(entries: ReadonlyArray<[agent: string, ms: number, count: number, mode?: ModeName]>): DurationHistory {
  const h = new DurationHistory();
  for (const [name, ms, count, mode] of entries) for (let i = 0; i < count; i++) h.record(name, 'linux/arm64', REPO, ms, mode);
  return h;
}
