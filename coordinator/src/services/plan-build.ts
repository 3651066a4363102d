import { modeToWire, type BuildPlan, type SubmitBuildRequest } from '@archfarm/proto';
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
  return {
    jobs: spec.platforms.map((platform) => {
      const job = { platform, failedOn: new Set<string>(), queuedAt: now };
      let decision = dispatcher.decide(build, job, now, planned);
      if (decision.kind === 'wait') {
        // Full agents: say where the job goes once a slot frees, and that it waits.
        const later = dispatcher.decide(build, job, now, planned, true);
        if (later.kind === 'place') decision = { ...later, reason: `waits for a free slot, then ${later.reason}` };
      }
      if (decision.kind !== 'place') return { platform: platform.toString(), agent: '', mode: modeToWire('emulated'), reason: why(decision.reason) };
      planned.set(decision.agent, (planned.get(decision.agent) ?? 0) + 1);
      return { platform: platform.toString(), agent: decision.agent, mode: modeToWire(decision.mode), reason: why(decision.reason) };
    }),
  };
}
