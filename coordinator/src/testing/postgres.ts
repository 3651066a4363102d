import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { redactPostgresUrl } from '../store/postgres-url';

/** The project's test cluster (scripts/postgres.sh); ARCHFARM_TEST_POSTGRES points elsewhere. */
export const DEFAULT_TEST_POSTGRES = 'postgres://postgres@127.0.0.1:55432/postgres';

/** The server URL the tests use: a superuser (or CREATEDB role) connection to an existing database. */
export function testPostgresUrl(): string {
  return process.env.ARCHFARM_TEST_POSTGRES || DEFAULT_TEST_POSTGRES;
}

/** A database made for one test file, and how to drop it. */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database with a unique name on the test server. A missing server fails
 * the test with the fix, never skips it: a suite that skips silently proves nothing.
 */
export async function createTestDatabase(prefix = 'archfarm_test'): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(async (client) => void (await client.query(`CREATE DATABASE ${name}`)));
  const url = new URL(testPostgresUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    // FORCE: a store a failed test left open must not keep the database alive.
    drop: () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

function admin(fn: (client: Client) => Promise<void>): Promise<void> {
  return withPostgres(testPostgresUrl(), fn);
}

/** Runs `fn` on a connection to `url`; an unreachable server fails loudly with the fix, never skips. */
export async function withPostgres<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `no PostgreSQL for the tests at ${redactPostgresUrl(url)} (${(err as Error).message}): run 'bash scripts/postgres.sh' as root (make setup does), ` +
        'or set ARCHFARM_TEST_POSTGRES to a server where this user may create databases',
      { cause: err },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
