import { randomBytes } from 'node:crypto';
import type { Store } from '../store';
import { newToken, tokenHash } from './tokens';

/**
 * The first admin token, made when the data dir has none, and shown once on stderr as a plain
 * line (not a log record, so log shipping never carries it). Only its hash is stored.
 */
export async function ensureAdminToken(store: Store, write: (line: string) => void = (l) => process.stderr.write(l)): Promise<void> {
  if (await store.hasAdminToken()) return;
  const token = newToken('admin');
  await store.createToken({ id: randomBytes(6).toString('hex'), hash: tokenHash(token), kind: 'admin', createdAt: Date.now(), labels: {}, description: 'initial admin token' });
  write(`archfarm-coordinator: initial admin token (shown once; keep it safe): ${token}\n`);
}
