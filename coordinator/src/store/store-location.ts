import { join } from 'node:path';
import { InvalidInputError } from '@archfarm/common';
import { isPostgresUrl, redactPostgresUrl } from './postgres-url';

/** Where the coordinator keeps its Store (`--store`): the SQLite file in the data dir, or a PostgreSQL database. */
export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** The SQLite file's name in the data dir (the default store). */
export const SQLITE_FILE = 'archfarm.db';

/** `--store`: absent or empty for DATA/archfarm.db, else a postgres:// (or postgresql://) URL. */
export function parseStoreLocation(value: string | undefined, dataDir: string, field = '--store'): StoreLocation {
  if (value === undefined || value === '') return { kind: 'sqlite', path: join(dataDir, SQLITE_FILE) };
  if (isPostgresUrl(value)) return { kind: 'postgres', url: value };
  throw new InvalidInputError(field, `must be a postgres://user@host:port/database URL (leave it out for the SQLite file in --data-dir), got "${redactPostgresUrl(value)}"`);
}

/** The location for logs and messages: a URL's password never shows. */
export function describeStoreLocation(location: StoreLocation): string {
  return location.kind === 'sqlite' ? location.path : redactPostgresUrl(location.url);
}
