/** Durable coordinator state: the Store interface, its SQLite and in-memory implementations. */
export * from './store';
export * from './store-security';
export * from './errors';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store';
export { MemoryStore } from './memory-store';
export { MIGRATIONS, type Migration } from './migrations';
export * from './store-identities';
export { redeemJoinToken, tokenUsable } from './security-rules';
export * from './store-schedules';
export { PostgresStore, type PostgresStoreOptions } from './postgres-store';
