import { randomBytes } from 'node:crypto';
import { chmod, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@archfarm/common';
import type { Store } from '../store';
import { ROLE_TOKEN_TTL_MS, newToken, tokenHash } from './tokens';

/** Where the first admin token is written, in the data dir. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * The first admin token, made when the store has no admin token that still works (a new data
 * dir, or every admin token expired or revoked: restarting the coordinator is then the way
 * back in for whoever can read its data dir, who can read its database anyway). It goes to
 * DATA/admin-token (0600) and never to a stream: stderr ends up in journald and `kubectl
 * logs`, readable by many. The log says where it is, not what it is. Only its hash is stored.
 * It expires like any role token.
 */
export async function ensureAdminToken(store: Store, dataDir: string, logger: Logger, now = Date.now()): Promise<void> {
  if (await store.hasAdminToken(now)) return;
  const token = newToken('admin');
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  await writeOwnerOnly(file, `${token}\n`);
  const expiresAt = now + ROLE_TOKEN_TTL_MS;
  await store.createToken({ id: randomBytes(6).toString('hex'), hash: tokenHash(token), kind: 'admin', createdAt: now, expiresAt, labels: {}, description: 'initial admin token' });
  logger.warn(
    { adminTokenFile: file, expiresAt: new Date(expiresAt).toISOString() },
    `initial admin token written to ${file} (mode 0600); log in with \`archfarm login --token-stdin < ${file}\`, make your own tokens, then delete the file`,
  );
}

/** Written whole or not at all (temp file, then rename), readable by the owner only. */
async function writeOwnerOnly(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode: 0o600, flag: 'w' });
  // The mode given to writeFile passes through the umask and is ignored for an existing file.
  await chmod(temp, 0o600);
  await rename(temp, file);
}
