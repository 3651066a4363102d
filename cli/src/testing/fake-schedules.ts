import { status, type ServiceError } from '@grpc/grpc-js';
import {
  TickCause,
  TickOutcome,
  type AddScheduleRequest,
  type Schedule,
  type ScheduleServiceServer,
  type ScheduleTick,
} from '@archfarm/proto';
import { T0 } from './details';

const HOUR = 3_600_000;

/** Builders of ScheduleService answers for tests, with the defaults ts-proto would decode. */
export const schedules = {
  schedule(over: Partial<Schedule> = {}): Schedule {
    return {
      name: 'nightly',
      cron: '0 3 * * *',
      timezone: '',
      paused: false,
      onBaseChange: false,
      owner: '',
      createdMs: T0,
      tags: ['127.0.0.1:5000/hello:1'],
      platforms: ['linux/amd64'],
      contextDigest: '',
      git: undefined,
      dockerfile: 'Dockerfile',
      nextRunsMs: [1, 2, 3, 4, 5].map((n) => T0 + n * 24 * HOUR),
      ticks: [],
      ...over,
    };
  },
  tick(over: Partial<ScheduleTick> = {}): ScheduleTick {
    return {
      schedule: 'nightly',
      dueMs: T0,
      ranMs: T0,
      cause: TickCause.TICK_CAUSE_SCHEDULED,
      outcome: TickOutcome.TICK_OUTCOME_BUILT,
      reason: '',
      buildId: '',
      commit: '',
      bases: [],
      ...over,
    };
  },
};

/**
 * The fake coordinator's ScheduleService: it keeps schedules by name, refuses what the real
 * one refuses at the CLI's level (a duplicate name, a context never uploaded, an unknown
 * name), and answers RunSchedule with `runAnswer`.
 */
export class FakeSchedules {
  readonly schedules = new Map<string, Schedule>();
  readonly added: AddScheduleRequest[] = [];
  /** "Rpc name" for every call that names a schedule, in order: "PauseSchedule nightly". */
  readonly calls: string[] = [];
  /** What AddSchedule answers with as the next run times. */
  nextRunsMs: number[] = schedules.schedule().nextRunsMs;
  /** Thrown from AddSchedule when set (an invalid cron, say). */
  addError: Partial<ServiceError> | undefined;
  runAnswer: (name: string) => ScheduleTick = (name) => schedules.tick({ schedule: name, cause: TickCause.TICK_CAUSE_MANUAL, buildId: 'b1' });

  constructor(private readonly hasContext: (digest: string) => boolean) {}

  service(): ScheduleServiceServer {
    return {
      addSchedule: (call, callback) => {
        const req = call.request;
        this.added.push(req);
        if (this.addError) return callback(this.addError);
        if (this.schedules.has(req.name)) return callback({ code: status.ALREADY_EXISTS, details: `name: a schedule "${req.name}" already exists` });
        const build = req.build;
        if (!build?.git && !this.hasContext(build?.contextDigest ?? '')) {
          return callback({ code: status.INVALID_ARGUMENT, details: `context ${build?.contextDigest} was not uploaded` });
        }
        const added = schedules.schedule({
          name: req.name,
          cron: req.cron,
          timezone: req.timezone,
          onBaseChange: req.onBaseChange,
          tags: build?.tags ?? [],
          platforms: build?.platforms ?? [],
          contextDigest: build?.contextDigest ?? '',
          git: build?.git,
          dockerfile: build?.dockerfile ?? '',
          nextRunsMs: this.nextRunsMs,
        });
        this.schedules.set(req.name, added);
        callback(null, added);
      },
      listSchedules: (_call, callback) => callback(null, { schedules: [...this.schedules.values()] }),
      getSchedule: (call, callback) => this.answer('GetSchedule', call.request.name, callback, (s) => s),
      runSchedule: (call, callback) => {
        this.calls.push(`RunSchedule ${call.request.name}`);
        if (!this.schedules.has(call.request.name)) return callback(notFound(call.request.name));
        callback(null, this.runAnswer(call.request.name));
      },
      pauseSchedule: (call, callback) => this.answer('PauseSchedule', call.request.name, callback, (s) => ({ ...s, paused: true, nextRunsMs: [] })),
      resumeSchedule: (call, callback) => this.answer('ResumeSchedule', call.request.name, callback, (s) => ({ ...s, paused: false, nextRunsMs: this.nextRunsMs })),
      removeSchedule: (call, callback) => {
        this.calls.push(`RemoveSchedule ${call.request.name}`);
        if (!this.schedules.delete(call.request.name)) return callback(notFound(call.request.name));
        callback(null, {});
      },
    };
  }

  /** Applies `change` to a known schedule, stores and answers it; NOT_FOUND for another name. */
  private answer(rpc: string, name: string, callback: (err: Partial<ServiceError> | null, res?: Schedule) => void, change: (s: Schedule) => Schedule): void {
    this.calls.push(`${rpc} ${name}`);
    const known = this.schedules.get(name);
    if (!known) return callback(notFound(name));
    const changed = change(known);
    this.schedules.set(name, changed);
    callback(null, changed);
  }
}

/** As the coordinator words it (ScheduleNotFoundError). */
function notFound(name: string): Partial<ServiceError> {
  return { code: status.NOT_FOUND, details: `name: schedule "${name}" not found; list schedules with 'archfarm schedules list'` };
}
