import type Database from 'better-sqlite3';
import type { ScheduleRow, TickRow } from './sqlite-schedule-rows';
import { params } from './sqlite-statements';

type Statement<P extends unknown[] | object, R = unknown> = Database.Statement<P, R>;

const SCHEDULE_COLUMNS = 'name, cron, timezone, owner, spec, git, on_base_change, paused, created_at, next_due_at';
const TICK_COLUMNS = 'schedule, due_at, ran_at, cause, outcome, reason, build_id, git_commit, bases';

/** The statements of SqliteStore's schedule part (./store-schedules), prepared once. */
export class SqliteScheduleStatements {
  readonly insertSchedule: Statement<ScheduleRow>;
  readonly getSchedule: Statement<[string], ScheduleRow>;
  readonly listSchedules: Statement<[], ScheduleRow>;
  readonly patchSchedule: Statement<ScheduleRow>;
  readonly deleteSchedule: Statement<[string]>;
  readonly insertTick: Statement<TickRow>;
  readonly listTicks: Statement<[string, number], TickRow>;
  readonly listBuiltTicks: Statement<[string, number], TickRow>;
  readonly trimIdleTicks: Statement<[string, string, number]>;

  constructor(db: Database.Database) {
    this.insertSchedule = db.prepare<ScheduleRow>(`INSERT INTO schedules (${SCHEDULE_COLUMNS}) VALUES (${params(SCHEDULE_COLUMNS)})`);
    this.getSchedule = db.prepare<[string], ScheduleRow>(`SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE name = ?`);
    this.listSchedules = db.prepare<[], ScheduleRow>(`SELECT ${SCHEDULE_COLUMNS} FROM schedules ORDER BY name`);
    // Writes every patchable column of a merged record, as SqliteStatements' updates do.
    this.patchSchedule = db.prepare<ScheduleRow>(`UPDATE schedules SET paused = @paused, next_due_at = @next_due_at WHERE name = @name`);
    // Its ticks go with it (ON DELETE CASCADE); its builds stay.
    this.deleteSchedule = db.prepare<[string]>(`DELETE FROM schedules WHERE name = ?`);
    this.insertTick = db.prepare<TickRow>(`INSERT INTO schedule_ticks (${TICK_COLUMNS}) VALUES (${params(TICK_COLUMNS)})`);
    // Newest first; rowid breaks ties in insertion order (index schedule_ticks_ran).
    this.listTicks = db.prepare<[string, number], TickRow>(`SELECT ${TICK_COLUMNS} FROM schedule_ticks WHERE schedule = ? ORDER BY ran_at DESC, rowid DESC LIMIT ?`);
    this.listBuiltTicks = db.prepare<[string, number], TickRow>(
      `SELECT ${TICK_COLUMNS} FROM schedule_ticks WHERE schedule = ? AND build_id IS NOT NULL ORDER BY ran_at DESC, rowid DESC LIMIT ?`,
    );
    // Ticks that built nothing beyond the newest N (IDLE_TICKS_KEPT) of the schedule.
    this.trimIdleTicks = db.prepare<[string, string, number]>(
      `DELETE FROM schedule_ticks WHERE schedule = ? AND build_id IS NULL AND rowid NOT IN
         (SELECT rowid FROM schedule_ticks WHERE schedule = ? AND build_id IS NULL ORDER BY ran_at DESC, rowid DESC LIMIT ?)`,
    );
  }
}
