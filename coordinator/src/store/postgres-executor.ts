import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { StoreClosedError, StoreConflictError } from './errors';

/** A statement with @name parameters compiled to PostgreSQL's $1, $2...: rows are passed as objects. */
export interface NamedStatement {
  text: string;
  names: readonly string[];
}

/** Compiles "... @a, @b ... @a" to "... $1, $2 ... $1" once, at module load. */
export function named(sql: string): NamedStatement {
  const names: string[] = [];
  const text = sql.replace(/@(\w+)/g, (_, name: string) => {
    const at = names.indexOf(name);
    if (at >= 0) return `$${at + 1}`;
    names.push(name);
    return `$${names.length}`;
  });
  return { text, names };
}

/** One transaction's connection, with the three shapes of call the store makes. */
export class Tx {
  constructor(private readonly client: PoolClient) {}

  async rows<R>(sql: string | NamedStatement, params: readonly unknown[] | object = []): Promise<R[]> {
    return (await this.query<R>(sql, params)).rows;
  }

  async one<R>(sql: string | NamedStatement, params: readonly unknown[] | object = []): Promise<R | undefined> {
    return (await this.query<R>(sql, params)).rows[0];
  }

  /** Runs a statement; resolves with the number of rows it changed. */
  async run(sql: string | NamedStatement, params: readonly unknown[] | object = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  private query<R>(sql: string | NamedStatement, params: readonly unknown[] | object) {
    if (typeof sql === 'string') return this.client.query<R & object>(sql, params as unknown[]);
    const row = params as Record<string, unknown>;
    return this.client.query<R & object>(sql.text, sql.names.map((n) => row[n]));
  }
}

/**
 * Runs the store's calls as transactions on a pool. Writes run one at a time in the order
 * they were called (the Store contract: a caller may fire a job's changes without awaiting
 * and they land in that order), each in a transaction of its own that commits or fails
 * alone. A read waits for the writes called before it, so it sees them, and runs beside
 * later ones in a REPEATABLE READ snapshot (one consistent view across its statements).
 *
 * One process's writes are serial; other processes' (coordinators sharing the database)
 * interleave with them under PostgreSQL's row locks: the read-modify-write calls lock the
 * rows they read (FOR UPDATE).
 */
export class PgExecutor {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly reading = new Set<Promise<unknown>>();
  private open = true;

  /** `onCommit`: told how long each write transaction took, in seconds (metrics). */
  constructor(
    private readonly pool: Pool,
    private readonly onCommit: (seconds: number) => void = () => {},
  ) {}

  write<T>(operation: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (!this.open) return Promise.reject(new StoreClosedError());
    const run = this.tail.then(async () => {
      const began = process.hrtime.bigint();
      const value = await this.transaction(operation, 'BEGIN', fn);
      this.onCommit(Number(process.hrtime.bigint() - began) / 1e9);
      return value;
    });
    this.tail = run.catch(() => {});
    return run;
  }

  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (!this.open) return Promise.reject(new StoreClosedError());
    const run = this.tail.then(() => this.transaction('read', 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn));
    const settled = run.catch(() => {});
    this.reading.add(settled);
    void settled.then(() => this.reading.delete(settled));
    return run;
  }

  /**
   * Refuses new calls, lets the ones already called finish, runs `beforeEnd` (to give back a
   * connection held outside the executor) and ends the pool. Idempotent.
   */
  async close(beforeEnd: () => void = () => {}): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await Promise.all([this.tail, ...this.reading]);
    beforeEnd();
    await this.pool.end();
  }

  private async transaction<T>(operation: string, begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query(begin);
      const value = await fn(new Tx(client));
      await client.query('COMMIT');
      return value;
    } catch (err) {
      // A connection whose ROLLBACK fails is unusable: the pool must not hand it out again.
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw conflictOrSelf(operation, err);
    } finally {
      client.release(broken);
    }
  }
}

/** PostgreSQL's SQLSTATE for a unique (or primary key) violation. */
const UNIQUE_VIOLATION = '23505';

/*
 * The conflict's message is PostgreSQL's ("duplicate key value violates unique constraint
 * tokens_hash_key"), never its `detail`, which quotes the key: for tokens, the hash.
 */
function conflictOrSelf(operation: string, err: unknown): unknown {
  if (!(err instanceof DatabaseError) || err.code !== UNIQUE_VIOLATION) return err;
  return new StoreConflictError(operation, err.message, { cause: { code: err.code, constraint: err.constraint, table: err.table } });
}
