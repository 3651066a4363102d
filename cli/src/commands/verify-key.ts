import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorMessage } from '@archfarm/common';
import type { CommandContext } from '../command-context';
import type { ConnectionFlags } from '../connection-settings';
import { VerifyKeyInvalidError } from './verify-errors';

/** --key FILE: a PEM public key (a private key's PEM gives its public half, never kept). */
export async function keyFromFile(file: string, cwd: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new VerifyKeyInvalidError(file, `cannot read it: ${errorMessage(err)}`, { cause: err });
  }
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw new VerifyKeyInvalidError(file, 'not a PEM public key', { cause: err });
  }
}

/** Without --key: the coordinator's public key (ProvenanceService.GetKey, any role). */
export async function keyFromCoordinator(_flags: ConnectionFlags, _ctx: CommandContext): Promise<KeyObject> {
  throw new VerifyKeyInvalidError('(none)', 'asking the coordinator for its key is not wired yet');
}
