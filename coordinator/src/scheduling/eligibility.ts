import type { AgentView, Candidate, Decision, JobView } from './placement-types';
import { busyReason, formatLabels, listed, names } from './reasons';

/** Either the agents that may take the job (free or busy), or why none may. */
export type Gate = { decision: Decision } | { eligible: Candidate[] };

interface Serving {
  agent: AgentView;
  mode: Candidate['mode'];
}

/**
 * Connected agents that serve the job's platform in a mode its policy allows, carry every
 * required label and are not drained. When there are none, the decision says which of those
 * conditions failed, naming agents, so an operator knows what to start, label or resume.
 */
export function eligibility(job: JobView, agents: readonly AgentView[]): Gate {
  const platform = job.platform.toString();
  const serving = servingAgents(job, agents);
  if (job.emulation === 'deny' && !serving.some((s) => s.mode === 'native')) {
    const emulating = serving.length ? ` (only emulating: ${names(serving.map((s) => s.agent))})` : '';
    return { decision: { kind: 'impossible', reason: `no native agent for ${platform} is connected and --emulation deny forbids emulating it${emulating}` } };
  }
  if (serving.length === 0) return { decision: { kind: 'wait', reason: noAgentReason(platform, agents) } };
  const allowed = job.emulation === 'deny' ? serving.filter((s) => s.mode === 'native') : serving;
  const labelled = Object.keys(job.requireLabels).length === 0 ? allowed : allowed.filter((s) => hasLabels(s.agent, job.requireLabels));
  if (labelled.length === 0) {
    const seen = listed(allowed, (s) => `${s.agent.name} {${formatLabels(s.agent.labels)}}`);
    return wait(`no connected agent that builds ${platform} carries ${formatLabels(job.requireLabels)} (agents that build it: ${seen})`);
  }
  const ready = labelled.filter((s) => !s.agent.drained);
  if (ready.length === 0) return wait(`every agent that may build ${platform} is drained: ${names(labelled.map((s) => s.agent))}`);
  return {
    eligible: ready.map(({ agent, mode }) => {
      const busy = agent.busy;
      return { name: agent.name, mode, free: agent.slots - busy, busy };
    }),
  };
}

/**
 * Why no native agent can take the job: "no native agent for linux/s390x is connected", or
 * each connected native agent with what rules it out (labels, drained, failed this job).
 */
export function whyNotNative(job: JobView, agents: readonly AgentView[]): string {
  const natives = servingAgents(job, agents).filter((s) => s.mode === 'native');
  if (natives.length === 0) return `no native agent for ${job.platform.toString()} is connected`;
  const why = listed(
    natives,
    ({ agent }) => {
      if (!hasLabels(agent, job.requireLabels)) return `${agent.name} lacks ${formatLabels(job.requireLabels)}`;
      if (agent.drained) return `${agent.name} is drained`;
      if (job.avoid.has(agent.name)) return `${agent.name} failed this job before`;
      return `${agent.name} cannot take it`;
    },
    '; ',
  );
  return `no native agent can take it (${why})`;
}

/** Why a job waits when nothing serves its platform (wording of the first scheduler). */
export function noAgentReason(platform: string, agents: readonly AgentView[]): string {
  if (agents.length === 0) return `no agent is connected; start one with archfarm-agent --coordinator ...`;
  const served = listed(agents, (a) => `${a.name}: ${a.platforms.map((p) => p.platform.toString()).join(', ') || 'nothing'}`, '; ');
  return `no connected agent builds ${platform}, natively or emulated (connected: ${served}); enrol an agent on that CPU or one with QEMU for it`;
}

export function waitBusy(platform: string, candidates: readonly Candidate[]): Decision {
  return { kind: 'wait', reason: busyReason(platform, candidates) };
}

function servingAgents(job: JobView, agents: readonly AgentView[]): Serving[] {
  // A plain loop: this runs over every agent for every job placed.
  const out: Serving[] = [];
  for (const agent of agents) {
    const support = agent.platforms.find((p) => p.platform.equals(job.platform));
    if (support) out.push({ agent, mode: support.mode });
  }
  return out;
}

function hasLabels(agent: AgentView, required: Record<string, string>): boolean {
  return Object.entries(required).every(([k, v]) => agent.labels[k] === v);
}

function wait(reason: string): Gate {
  return { decision: { kind: 'wait', reason } };
}
