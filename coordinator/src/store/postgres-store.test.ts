import { after, before } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../testing/postgres';
import { PostgresStore } from './postgres-store';
import { storeContract } from './store-contract';

/* The Store contract on PostgreSQL: one database for this file, a fresh schema for each store. */

let db: TestDatabase;
before(async () => (db = await createTestDatabase()));
after(() => db.drop());
let schemas = 0;

storeContract('PostgresStore', () => PostgresStore.open(db.url, { schema: `store_${++schemas}` }));
