import type { Platform } from '@archfarm/common';
import { modeToWire, type BuildPlan, type SubmitBuildRequest } from '@archfarm/proto';
import { jobLabel, type PartnerPlacement } from '../cross-check/pairs';
import type { Dispatcher } from '../builds/dispatcher';
import type { ContextStore } from '../context-store';
import { notAnalysedReason } from '../cross-compile';
import { ContextNotFoundError } from '../errors';
import { materialiseContext, validateBuild, type GitFetcher } from './validate-build';

/**
 * `archfarm build --plan`: the scheduler's decision for each platform as if the build were
 * submitted now, with the same reasons it would record; nothing is queued.
 */
export async function planBuild(
  req: SubmitBuildRequest,
  contexts: ContextStore,
  git: GitFetcher,
  dispatcher: Dispatcher,
  crossCompile: (digest: string, dockerfile: string) => Promise<boolean>,
): Promise<BuildPlan> {
  // A git context is fetched for a plan too: placement reads its Dockerfile.
  const spec = await materialiseContext(validateBuild(req), git);
  if (!(await contexts.has(spec.contextDigest))) throw new ContextNotFoundError(spec.contextDigest);
  spec.crossCompile = await crossCompile(spec.contextDigest, spec.dockerfile);
  const note = await notAnalysedReason(contexts, spec.contextDigest, spec.dockerfile);
  const why = (reason: string) => (note ? `${reason} (${note})` : reason);
  const now = Date.now();
  const build = { id: 'plan', spec, state: 'running' as const, jobs: [], events: [], createdAt: now };
  const planned = new Map<string, number>();
  // Where each platform's own job goes: its cross-check (listed after the platforms, as a build queues them) avoids that agent.
  const placed = new Map<string, PartnerPlacement>();
  const plan = (platform: Platform, check: boolean) => {
    const job = { platform, failedOn: new Set<string>(), queuedAt: now };
    const pairing = check ? { platform, check, partner: placed.get(platform.toString()) } : undefined;
    let decision = dispatcher.decide(build, job, now, planned, false, pairing);
    if (decision.kind === 'wait') {
      // Full agents: say where the job goes once a slot frees, and that it waits.
      const later = dispatcher.decide(build, job, now, planned, true, pairing);
      if (later.kind === 'place') decision = { ...later, reason: `waits for a free slot, then ${later.reason}` };
    }
    const label = jobLabel({ platform, ...(check ? { check: true as const } : {}) });
    if (decision.kind !== 'place') return { platform: label, agent: '', mode: modeToWire('emulated'), reason: why(decision.reason) };
    planned.set(decision.agent, (planned.get(decision.agent) ?? 0) + 1);
    if (!check) placed.set(platform.toString(), { agent: decision.agent, mode: decision.mode });
    return { platform: label, agent: decision.agent, mode: modeToWire(decision.mode), reason: why(decision.reason) };
  };
  return { jobs: [...spec.platforms.map((p) => plan(p, false)), ...(spec.crossCheck ?? []).map((p) => plan(p, true))] };
}
