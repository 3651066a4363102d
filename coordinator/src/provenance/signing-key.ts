import { constants } from 'node:fs';
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { link, lstat, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { keyId, publicKeyPem } from '@archfarm/common';
import { SigningKeyInvalidError, SigningKeyPermissionsError } from './errors';

/** Where the key lives under the data directory (the folder is 0700, the file 0600). */
export const SIGNING_KEY_DIR = 'provenance';
export const SIGNING_KEY_FILE = 'signing-key.pem';

/** The coordinator's provenance key: the private key (never logged) and what anyone may know of it. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  /** "sha256:<hex>" of the SPKI DER: every signature's keyid. */
  readonly keyId: string;
  readonly publicKeyPem: string;
}

/**
 * Loads DATA/provenance/signing-key.pem, or makes an EC P-256 key there on first start
 * (PKCS#8 PEM). A file or folder that group or others may use is refused
 * (SigningKeyPermissionsError): anyone who reads the key can sign provenance in the farm's
 * name. Two processes starting together end up with the same key.
 */
export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const dir = join(dataDir, SIGNING_KEY_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const dirMode = (await lstat(dir)).mode;
  if ((dirMode & 0o077) !== 0) throw new SigningKeyPermissionsError(dir, dirMode);
  const path = join(dir, SIGNING_KEY_FILE);
  const pem = (await readKeyFile(path)) ?? (await createKeyFile(path), await readKeyFile(path));
  if (pem === undefined) throw new SigningKeyInvalidError(path, 'cannot be found right after it was created (a dangling symbolic link?)');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new SigningKeyInvalidError(path, 'is not a PEM private key', { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SigningKeyInvalidError(path, `is a ${privateKey.asymmetricKeyType ?? 'unknown'} key, not EC P-256`);
  }
  return { privateKey, keyId: keyId(privateKey), publicKeyPem: publicKeyPem(privateKey) };
}

/** The PEM text, or undefined when there is no file; the checks look at the opened file. */
async function readKeyFile(path: string): Promise<string | undefined> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw new SigningKeyInvalidError(path, 'is not a regular file');
    if ((stat.mode & 0o077) !== 0) throw new SigningKeyPermissionsError(path, stat.mode);
    if (stat.size > 64 * 1024) throw new SigningKeyInvalidError(path, `is ${stat.size} bytes, far more than a key`);
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}

/**
 * Writes a new key to a private temporary file (O_EXCL, 0600), syncs it, then links it to
 * `path`: link() never replaces a concurrent process's key, and nobody sees a half-written one.
 */
async function createKeyFile(path: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    try {
      // The umask can only clear bits; chmod makes the mode exactly 0600 whatever it is.
      await file.chmod(0o600);
      await file.writeFile(pem, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await link(temp, path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
