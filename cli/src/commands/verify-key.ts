import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorMessage, keyId } from '@archfarm/common';
import type { CommandContext } from '../command-context';
import type { ConnectionFlags } from '../connection-settings';
import { ProtocolError } from '../errors';
import { fetchProvenanceKey } from './provenance';
import { VerifyKeyInvalidError } from './verify-errors';

/** --key FILE: a PEM public key (a private key's PEM gives its public half, never kept). */
export async function keyFromFile(file: string, cwd: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new VerifyKeyInvalidError(file, `cannot read it: ${errorMessage(err)}`, { cause: err });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new VerifyKeyInvalidError(file, 'not a PEM public key', { cause: err });
  }
  // Refused here, before anything is fetched, rather than at the first envelope.
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    throw new VerifyKeyInvalidError(file, `an ${key.asymmetricKeyType === 'ec' ? `EC ${curve ?? ''}`.trim() : (key.asymmetricKeyType ?? 'unknown').toUpperCase()} key, not the EC P-256 key the farm signs with`);
  }
  return key;
}

/**
 * Without --key: the coordinator's public key (ProvenanceService.GetKey, any role). Its answer
 * must be a key whose id is the keyid it names, or it is refused as a broken answer.
 */
export async function keyFromCoordinator(flags: ConnectionFlags, ctx: CommandContext): Promise<KeyObject> {
  const answer = await fetchProvenanceKey(flags, ctx);
  let key: KeyObject;
  try {
    key = createPublicKey(answer.publicKeyPem);
  } catch (err) {
    throw new ProtocolError(`the coordinator's provenance key is not a PEM public key: ${errorMessage(err)}`, { cause: err });
  }
  if (keyId(key) !== answer.keyid) throw new ProtocolError(`the coordinator's provenance key has the id ${keyId(key)}, not the ${answer.keyid} it names`);
  return key;
}
