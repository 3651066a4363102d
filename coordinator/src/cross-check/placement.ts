import type { ModeName } from '@archfarm/proto';
import { decide, type AgentView, type Decision, type HistoryView, type JobView, type PlacementSettings } from '../scheduling/placement';
import { names } from '../scheduling/reasons';
import type { Pairing } from './pairs';

/**
 * Where one job of a cross-checked platform goes: never on the agent that holds (or built)
 * the other one, since two builds on one agent prove nothing about agents. Pure, over the
 * same views as placement's decide, which it calls on a narrowed fleet.
 *
 * - The check job waits until the platform's own job succeeded (./pairs says why), so it knows
 *   which agent to avoid and which mode to prefer: the other mode (native against emulated)
 *   where an agent of that mode is free now, as two ways of building agreeing say most; else
 *   any other agent.
 * - A job given a partner's placement that is not a check (the plan's, or a future rule)
 *   avoids that agent likewise.
 * - With no second agent for the platform the job waits, saying so, as a job waits for an
 *   agent that is not connected yet: one may join, and --wait-timeout bounds the wait.
 */
export function decidePaired(job: JobView, pairing: Pairing, agents: readonly AgentView[], history: HistoryView, settings: PlacementSettings): Decision {
  const platform = job.platform.toString();
  const { partner } = pairing;
  if (pairing.check && !partner) return { kind: 'wait', reason: `cross-check of ${platform} waits for the platform's own build to finish, then builds it again on another agent without the cache` };
  const others = partner ? agents.filter((a) => a.name !== partner.agent) : [...agents];
  const serving = others.filter((a) => modeFor(a, job) !== undefined);
  if (partner && serving.length === 0) {
    const what = pairing.check ? 'the cross-check of' : 'its second build of';
    return { kind: 'wait', reason: `${what} ${platform} needs a second agent that builds it, and only ${partner.agent} does; connect another agent for ${platform} (native, or emulating it with QEMU)` };
  }
  const prefix = pairing.check && partner ? `cross-check (first build ${partner.mode} on ${partner.agent}): ` : '';
  if (pairing.check && partner && job.emulation !== 'deny') {
    const other: ModeName = partner.mode === 'native' ? 'emulated' : 'native';
    const inOther = serving.filter((a) => modeFor(a, job) === other);
    const first = inOther.length > 0 ? decide({ ...job, emulation: 'allow' }, inOther, history, settings) : undefined;
    if (first?.kind === 'place') return withPrefix(first, `${prefix}the other mode: `);
  }
  // The whole narrowed fleet, not only `serving`: decide's reasons name agents that do not build the platform.
  const decision = decide(job, others, history, settings);
  if (decision.kind === 'impossible' && partner) {
    // deny, and the only native agent holds the other build: another native one may connect.
    return { kind: 'wait', reason: `${prefix}no native agent for ${platform} other than ${partner.agent} is connected (${names(serving)} only emulate it) and --emulation deny forbids emulating it` };
  }
  // Labels, drains, busy slots: decide's words, said to be about the second agent.
  if (decision.kind === 'wait' && partner) return withPrefix(decision, `${prefix}it needs an agent other than ${partner.agent}: `);
  return withPrefix(decision, prefix);
}

function modeFor(agent: AgentView, job: JobView): ModeName | undefined {
  return agent.platforms.find((p) => p.platform.equals(job.platform))?.mode;
}

function withPrefix(d: Decision, prefix: string): Decision {
  return prefix === '' ? d : { ...d, reason: `${prefix}${d.reason}` };
}
