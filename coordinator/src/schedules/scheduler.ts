import { errorMessage, type Logger } from '@archfarm/common';
import type { ScheduledTask } from 'node-cron';
import { ScheduleNotFoundError } from '../errors';
import type { PlatformBaseRecord, ScheduleRecord, ScheduleStore, ScheduleTickRecord, Store, TickCause } from '../store';
import { cronTask, nextRunAfter } from './cron';
import { decideTick, stillRunning, type TickHistory } from './tick-decision';

/** The effects a tick needs, apart from the store. */
export interface TickEffects {
  /** The context a build of the schedule would use now: for a git source, its ref fetched afresh. */
  context(schedule: ScheduleRecord): Promise<TickContext>;
  /** The FROM images per platform of the context's Dockerfile, as their registries name them now. */
  resolveBases(schedule: ScheduleRecord, context: TickContext): Promise<PlatformBaseRecord[]>;
  /** The reason lines for bases that differ (baseChanges). */
  baseChanges(previous: PlatformBaseRecord[], current: PlatformBaseRecord[]): string[];
  /** Submits the schedule's build of that context; its id. */
  submit(schedule: ScheduleRecord, context: TickContext): Promise<string>;
}

/** A context digest, and for a git source the commit it holds. */
export interface TickContext {
  contextDigest: string;
  commit?: string;
}

export interface SchedulerDeps extends TickEffects {
  store: Pick<Store, 'listBuilds'> & ScheduleStore;
  logger: Logger;
  clock?: () => number;
}

/** How far back a tick looks for the schedule's last published build. */
const HISTORY_BUILDS = 50;

/**
 * Runs schedules: node-cron fires the ticks, the store is the truth. Each schedule's
 * `nextDueAt` is the fire time the coordinator waits for, written with every tick, so a
 * coordinator that was down past it runs that tick once at start (cause `missed`). Ticks of
 * one schedule run one after another, and a tick while the schedule's last build still
 * runs is recorded as skipped: a schedule never overlaps itself.
 */
export class Scheduler {
  private readonly tasks = new Map<string, ScheduledTask>();
  /** Per schedule, the tick in progress: the next one waits for it. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private stopped = false;

  constructor(private readonly deps: SchedulerDeps) {}

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }

  /** Arms every stored schedule and runs, once each, the ticks missed while down. */
  async start(): Promise<void> {
    const now = this.now();
    for (const schedule of await this.deps.store.listSchedules()) {
      if (schedule.paused) continue;
      const missed = schedule.nextDueAt !== undefined && schedule.nextDueAt <= now ? schedule.nextDueAt : undefined;
      if (missed === undefined) await this.deps.store.updateSchedule(schedule.name, { nextDueAt: nextRunAfter(schedule, now) });
      this.arm(schedule);
      if (missed !== undefined) {
        this.deps.logger.info({ schedule: schedule.name, due: new Date(missed).toISOString() }, 'schedule: running the tick missed while down');
        void this.enqueue(schedule.name, 'missed', missed).catch(() => undefined);
      }
    }
  }

  /** A schedule just stored: its first due time is recorded and its cron armed. */
  async added(schedule: ScheduleRecord): Promise<void> {
    if (!schedule.paused) {
      await this.deps.store.updateSchedule(schedule.name, { nextDueAt: nextRunAfter(schedule, this.now()) });
      this.arm(schedule);
    }
  }

  async setPaused(name: string, paused: boolean): Promise<void> {
    const schedule = await this.deps.store.getSchedule(name);
    if (!schedule) throw new ScheduleNotFoundError(name);
    this.disarm(name);
    // Paused: no due time, so a restart finds no missed tick; resumed: the next one from now.
    await this.deps.store.updateSchedule(name, paused ? { paused, nextDueAt: undefined } : { paused, nextDueAt: nextRunAfter(schedule, this.now()) });
    if (!paused) this.arm(schedule);
  }

  async removed(name: string): Promise<void> {
    this.disarm(name);
    await this.chains.get(name);
  }

  /** `schedules run`: one tick now, after any tick of the schedule in progress. */
  runNow(name: string): Promise<ScheduleTickRecord> {
    return this.enqueue(name, 'manual', this.now());
  }

  /** Stops every cron and waits for ticks in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const name of [...this.tasks.keys()]) this.disarm(name);
    await Promise.allSettled([...this.chains.values()]);
  }

  private arm(schedule: ScheduleRecord): void {
    if (this.stopped) return;
    this.disarm(schedule.name);
    const task = cronTask(schedule, schedule.name, () => {
      // node-cron fires on the second; that second is the due time the tick stands for.
      const due = Math.floor(this.now() / 1000) * 1000;
      return this.enqueue(schedule.name, 'scheduled', due).catch(() => undefined);
    });
    this.tasks.set(schedule.name, task);
    void task.start();
  }

  private disarm(name: string): void {
    const task = this.tasks.get(name);
    this.tasks.delete(name);
    if (task) void task.destroy();
  }

  private enqueue(name: string, cause: TickCause, dueAt: number): Promise<ScheduleTickRecord> {
    const before = this.chains.get(name) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.tick(name, cause, dueAt));
    this.chains.set(name, run);
    void run.finally(() => {
      if (this.chains.get(name) === run) this.chains.delete(name);
    }).catch(() => undefined);
    return run;
  }

  /** One tick: gather, decide (decideTick), build or not, record with the next due time. */
  private async tick(name: string, cause: TickCause, dueAt: number): Promise<ScheduleTickRecord> {
    const { store, logger } = this.deps;
    const schedule = await store.getSchedule(name);
    if (!schedule) throw new ScheduleNotFoundError(name);
    const ranAt = this.now();
    const base = { schedule: name, dueAt, ranAt, cause, bases: [] as PlatformBaseRecord[] };
    // A manual run leaves the cron's due time alone; a paused schedule has none.
    const patch = cause === 'manual' || schedule.paused ? {} : { nextDueAt: nextRunAfter(schedule, Math.max(ranAt, dueAt)) };
    let tick: ScheduleTickRecord;
    try {
      tick = await this.decideAndBuild(schedule, cause, dueAt, base);
    } catch (err) {
      tick = { ...base, outcome: 'failed', reason: errorMessage(err) };
    }
    await store.recordTick(tick, patch);
    logger.info({ schedule: name, cause, outcome: tick.outcome, build: tick.buildId, reason: tick.reason }, 'schedule tick');
    return tick;
  }

  private async decideAndBuild(schedule: ScheduleRecord, cause: TickCause, dueAt: number, base: Omit<ScheduleTickRecord, 'outcome' | 'reason'>): Promise<ScheduleTickRecord> {
    const history = await this.history(schedule);
    // Cheap check first: a skipped tick asks neither git nor the registries.
    if (stillRunning(history)) return { ...base, ...decideTick({ cause, dueAt, onBaseChange: schedule.onBaseChange, history, bases: [], changes: [] }) };
    const context = await this.deps.context(schedule);
    const commit = context.commit;
    const bases = schedule.onBaseChange ? await this.deps.resolveBases(schedule, context) : [];
    const previous = history.lastPublished?.bases;
    const changes = previous ? this.deps.baseChanges(previous, bases) : [];
    const decision = decideTick({ cause, dueAt, onBaseChange: schedule.onBaseChange, history, commit, bases, changes });
    const tick = { ...base, ...decision, bases, ...(commit ? { commit } : {}) };
    if (decision.outcome !== 'built') return tick;
    return { ...tick, buildId: await this.deps.submit(schedule, context) };
  }

  /** The schedule's newest build, and what its newest published one was built from. */
  private async history(schedule: ScheduleRecord): Promise<TickHistory> {
    const builds = await this.deps.store.listBuilds(HISTORY_BUILDS, { schedule: schedule.name });
    const latest = builds[0];
    const published = builds.find((b) => b.state === 'published');
    if (!published) return { latest };
    const ticks = await this.deps.store.listTicks(schedule.name, HISTORY_BUILDS, { built: true });
    const made = ticks.find((t) => t.buildId === published.id);
    // A schedule's ticks all resolve bases or none (onBaseChange is fixed): a tick found has them.
    return { latest, lastPublished: { id: published.id, bases: made?.bases, commit: published.spec.git?.commit } };
  }
}
