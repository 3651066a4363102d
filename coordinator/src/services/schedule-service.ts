import { InvalidInputError, type Logger } from '@archfarm/common';
import type { AddScheduleRequest, ScheduleServiceServer } from '@archfarm/proto';
import { specRecord } from '../builds/build-records';
import type { BuildSpec } from '../builds/build';
import type { ContextStore } from '../context-store';
import { ScheduleExistsError, ScheduleNotFoundError, ScheduleNotOwnedError } from '../errors';
import { checkCron } from '../schedules/cron';
import type { Scheduler } from '../schedules/scheduler';
import { scheduleToWire, tickToWire } from '../schedules/schedule-wire';
import { identityOf } from '../security/authorizer';
import { checkSubmitLimits } from '../security/limits';
import { StoreConflictError, type ScheduleRecord, type ScheduleStore, type Store } from '../store';
import { unary } from './unary';
import { checkContext } from './check-context';
import { materialiseContext, validateBuild, type GitFetcher } from './validate-build';

export interface ScheduleServiceDeps {
  store: Pick<Store, 'listBuilds'> & ScheduleStore;
  scheduler: Scheduler;
  contexts: ContextStore;
  /** `add` fetches a git source once: a ref, subdir or Dockerfile that is not there is refused then. */
  git: GitFetcher;
  logger: Logger;
  clock?: () => number;
}

/** Schedule names are CLI arguments and log fields: the agent-name alphabet, lower case first. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Ticks `schedules show` returns; `list` shows the newest only. */
const TICKS_SHOWN = 20;

/** `archfarm schedules ...`: builders manage the schedules they added, admins all of them. */
export function scheduleService(deps: ScheduleServiceDeps): ScheduleServiceServer {
  const now = () => (deps.clock ?? Date.now)();
  const owned = async (name: string, call: object): Promise<ScheduleRecord> => {
    const schedule = await deps.store.getSchedule(name);
    if (!schedule) throw new ScheduleNotFoundError(name);
    const who = identityOf(call);
    // Anonymous callers exist only in --insecure dev mode, where everyone is admin.
    if (who.kind === 'operator' && who.role !== 'admin' && who.tokenId !== schedule.owner) throw new ScheduleNotOwnedError(name);
    return schedule;
  };
  const shown = async (name: string, ticks = TICKS_SHOWN) => {
    const schedule = await deps.store.getSchedule(name);
    if (!schedule) throw new ScheduleNotFoundError(name);
    return scheduleToWire(schedule, await deps.store.listTicks(name, ticks));
  };
  return {
    addSchedule: unary(async (req, call) => {
      const record = await scheduleRecord(deps, req, call, now());
      try {
        await deps.store.createSchedule(record);
      } catch (err) {
        throw err instanceof StoreConflictError ? new ScheduleExistsError(record.name) : err;
      }
      await deps.scheduler.added(record);
      deps.logger.info({ schedule: record.name, cron: record.cron, timezone: record.timezone, owner: record.owner }, 'schedule added');
      return shown(record.name);
    }),
    listSchedules: unary(async () => ({
      schedules: await Promise.all((await deps.store.listSchedules()).map(async (s) => scheduleToWire(s, await deps.store.listTicks(s.name, 1)))),
    })),
    getSchedule: unary((req) => shown(req.name)),
    runSchedule: unary(async (req, call) => {
      await owned(req.name, call);
      return tickToWire(await deps.scheduler.runNow(req.name));
    }),
    pauseSchedule: unary(async (req, call) => {
      await owned(req.name, call);
      await deps.scheduler.setPaused(req.name, true);
      return shown(req.name);
    }),
    resumeSchedule: unary(async (req, call) => {
      await owned(req.name, call);
      await deps.scheduler.setPaused(req.name, false);
      return shown(req.name);
    }),
    removeSchedule: unary(async (req, call) => {
      await owned(req.name, call);
      await deps.scheduler.removed(req.name);
      await deps.store.deleteSchedule(req.name);
      deps.logger.info({ schedule: req.name }, 'schedule removed');
      return {};
    }),
  };
}

/** Checks an AddSchedule request field by field, before anything is stored. */
async function scheduleRecord(deps: ScheduleServiceDeps, req: AddScheduleRequest, call: object, now: number): Promise<ScheduleRecord> {
  if (!NAME.test(req.name)) throw new InvalidInputError('name', `"${req.name}" must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit; e.g. nightly-app`);
  const times = checkCron(req.cron, req.timezone);
  const build = req.build;
  if (!build) throw new InvalidInputError('build', 'the request has no build; give the build flags and a context as for archfarm build');
  if (build.registryAuth?.username) {
    throw new InvalidInputError('forward-credentials', 'a schedule runs later, without you: it pushes with the coordinator\'s own logins; store one with `archfarm registry login REGISTRY` (admin) instead');
  }
  if (build.secrets.length > 0) throw new InvalidInputError('secret', 'a schedule cannot hold --secret values: the coordinator keeps secrets in memory for one build only, never in its store');
  checkSubmitLimits(build);
  const spec: BuildSpec = validateBuild(build);
  await checkContext(deps.contexts, await materialiseContext(spec, deps.git));
  if (await deps.store.getSchedule(req.name)) throw new ScheduleExistsError(req.name);
  const who = identityOf(call);
  const { git, ...template } = specRecord(spec);
  return {
    name: req.name,
    ...times,
    owner: who.kind === 'operator' ? who.tokenId : '',
    spec: { ...template, schedule: req.name },
    ...(git ? { git: { url: git.url, ref: git.ref, subdir: git.subdir } } : {}),
    onBaseChange: req.onBaseChange,
    paused: false,
    createdAt: now,
  };
}
