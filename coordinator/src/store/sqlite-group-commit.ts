import Database from 'better-sqlite3';
import { StoreConflictError } from './errors';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit. The first write of a turn of the event loop opens an IMMEDIATE transaction;
 * every write of that turn runs in it at once, in the order it was asked for, each in its own
 * savepoint (one that fails is undone alone and rejects alone); the transaction commits, and
 * with synchronous=FULL syncs, once at the end of the turn. A write's promise settles only
 * after that commit, so a caller that awaits it still knows it is on disk, but N state
 * changes of a busy turn cost one fsync instead of N: at thousands of agents the per-commit
 * fsync, not SQL, was what capped the coordinator (bench/src/scale.ts).
 *
 * Because writes run when they are asked for, reads on this connection see them at once
 * (as the coordinator's memory already does) and never force an early commit, and callers
 * get ordering for free: writes land in call order. better-sqlite3 has no group commit of
 * its own (it is synchronous by design), hence this small class.
 */
export class GroupCommit {
  private waiters: Waiter[] = [];
  /** This turn's transaction is open (it may hold only failed writes, which wait for nothing). */
  private opened = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;

  /** `onCommit`: told how long each COMMIT (and its fsync) took, in seconds (metrics). */
  constructor(
    private readonly db: Database.Database,
    private readonly onCommit: (seconds: number) => void = () => {},
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  /** Runs `fn` now inside this turn's transaction; resolves with its result once committed. */
  write<T>(operation: string, fn: () => T): Promise<T> {
    let value: T;
    try {
      if (!this.opened) this.open();
      // Inside an open transaction better-sqlite3 runs a nested one as a savepoint.
      value = this.db.transaction(fn)();
    } catch (err) {
      // Some errors (disk full, I/O, out of memory) make SQLite roll back the whole
      // transaction, not just the savepoint: the turn's earlier writes are gone with it.
      if (this.opened && !this.db.inTransaction) this.lost(err);
      return Promise.reject(conflictOrSelf(operation, err));
    }
    return new Promise<T>((resolve, reject) => this.waiters.push({ resolve: () => resolve(value), reject }));
  }

  /** Commits now what this turn wrote (before closing the database). */
  flush(): void {
    if (!this.opened) return;
    const group = this.waiters;
    this.waiters = [];
    this.opened = false;
    const began = process.hrtime.bigint();
    try {
      this.commit.run();
      this.onCommit(Number(process.hrtime.bigint() - began) / 1e9);
    } catch (err) {
      // A failed COMMIT (disk full, I/O error) may leave the transaction open: end it, and
      // every write of the group failed together, as one transaction does.
      if (this.db.inTransaction) this.rollback.run();
      for (const w of group) w.reject(err);
      return;
    }
    for (const w of group) w.resolve();
  }

  /** SQLite rolled the group back: its writes fail, and the next write opens a new transaction. */
  private lost(err: unknown): void {
    const group = this.waiters;
    this.waiters = [];
    this.opened = false;
    for (const w of group) w.reject(err);
  }

  private open(): void {
    this.begin.run();
    this.opened = true;
    setImmediate(() => this.flush());
  }
}

function conflictOrSelf(operation: string, err: unknown): unknown {
  const unique = err instanceof Database.SqliteError && (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err.code === 'SQLITE_CONSTRAINT_UNIQUE');
  return unique ? new StoreConflictError(operation, err.message, { cause: err }) : err;
}
