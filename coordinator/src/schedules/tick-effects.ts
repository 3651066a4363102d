import { InvalidInputError, Platform } from '@archfarm/common';
import type { BuildSpec } from '../builds/build';
import type { BuildSide, ResolveSpec } from '../builds/build-manager';
import { specFromRecord } from '../builds/build-records';
import type { ContextStore } from '../context-store';
import type { GitContexts } from '../git/git-contexts';
import { checkContext } from '../services/check-context';
import type { ScheduleRecord } from '../store';
import { baseChanges } from './base-digests';
import type { BaseResolver } from './base-resolver';
import type { TickContext, TickEffects } from './scheduler';

export interface TickEffectsDeps {
  contexts: ContextStore;
  git: Pick<GitContexts, 'fetch'>;
  bases: Pick<BaseResolver, 'resolve'>;
  resolveSpec: ResolveSpec;
  builds: Pick<BuildSide, 'submit'>;
}

/** What a tick does outside the store, with the coordinator's own parts. */
export function tickEffects(deps: TickEffectsDeps): TickEffects {
  return {
    // A git source is fetched at every tick: the ref may have moved (a commit already
    // fetched gives the same tar, so the context store keeps one copy).
    context: async (schedule): Promise<TickContext> => (schedule.git ? deps.git.fetch(schedule.git) : { contextDigest: schedule.spec.contextDigest }),
    resolveBases: async (schedule, context) => {
      const text = await deps.contexts.readFile(context.contextDigest, schedule.spec.dockerfile);
      if (!text) throw new InvalidInputError('file', `the context has no ${schedule.spec.dockerfile}; the schedule cannot resolve its FROM images`);
      const { buildArgs, target, platforms } = schedule.spec;
      return deps.bases.resolve({ dockerfile: text.toString('utf8'), buildArgs, target, platforms: platforms.map((p) => Platform.parse(p)) });
    },
    baseChanges,
    submit: async (schedule, context) => {
      const spec = scheduledSpec(schedule, context);
      await checkContext(deps.contexts, spec);
      // No forwarded credentials: a scheduled build pushes with the coordinator's own logins.
      const resolved = await deps.resolveSpec(spec, undefined);
      return (await deps.builds.submit(resolved, undefined, schedule.owner || undefined)).id;
    },
  };
}

/** The schedule's stored build, of this tick's context, marked as the schedule's. */
function scheduledSpec(schedule: ScheduleRecord, context: TickContext): BuildSpec {
  const git = schedule.git && context.commit ? { git: { ...schedule.git, commit: context.commit } } : {};
  return { ...specFromRecord(schedule.spec), contextDigest: context.contextDigest, schedule: schedule.name, ...git };
}
