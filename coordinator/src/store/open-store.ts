import type { Logger } from '@archfarm/common';
import { PostgresStore } from './postgres-store';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store';
import type { Store } from './store';
import type { StoreLocation } from './store-location';

/** Opens a SQLite store; a test passes its own to hold the opening back. */
export type SqliteOpener = (path: string, options: SqliteStoreOptions) => Store | Promise<Store>;

/**
 * Opens the coordinator's store where `--store` says. A PostgreSQL store is opened exclusive:
 * this archfarm runs one coordinator per database (StoreInUseError for a second; ./POSTGRES.md).
 */
export async function openCoordinatorStore(
  location: StoreLocation,
  options: { onCommit: (seconds: number) => void; logger: Logger; openSqlite?: SqliteOpener },
): Promise<Store> {
  if (location.kind === 'sqlite') return (options.openSqlite ?? SqliteStore.open)(location.path, { onCommit: options.onCommit });
  return PostgresStore.open(location.url, {
    exclusive: true,
    onCommit: options.onCommit,
    onPoolError: (err) => options.logger.warn({ err }, 'store: a PostgreSQL connection failed; the next store call reconnects'),
  });
}
