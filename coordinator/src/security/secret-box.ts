import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ArchfarmError } from '@archfarm/common';

/*
 * Encryption at rest for what the coordinator stores but must not keep in the clear (registry
 * passwords). The key lives in the data directory next to the database, so this protects
 * against a copied or backed-up database, not against someone who can read the whole data
 * directory.
 */

const KEY_FILE = 'secrets.key';
const KEY_BYTES = 32;
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

/** A sealed value could not be opened: altered, truncated, or sealed under another key. */
export class SecretCorruptError extends ArchfarmError {
  readonly code = 'SECRET_CORRUPT';
  readonly kind = 'infrastructure';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`stored secret cannot be decrypted: ${detail}; store it again (e.g. 'archfarm registry login')`, options);
  }
}

/** The key file is readable or writable by group or others: refused rather than trusted. */
export class SecretKeyPermissionsError extends ArchfarmError {
  readonly code = 'SECRET_KEY_PERMISSIONS';
  readonly kind = 'input';
  constructor(
    readonly path: string,
    readonly mode: number,
  ) {
    super(`${path} has mode ${formatMode(mode)}, so other users may read it; run 'chmod 600 ${path}' (and check who could have read it)`);
  }
}

/** The key file exists but is not a 32-byte regular file. */
export class SecretKeyInvalidError extends ArchfarmError {
  readonly code = 'SECRET_KEY_INVALID';
  readonly kind = 'input';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}; restore it from a backup (secrets sealed under another key cannot be read)`);
  }
}

/**
 * Seals and unseals short secrets with AES-256-GCM under the data directory's key. Sealed
 * format: version byte (1) || 12-byte random nonce || 16-byte tag || ciphertext.
 */
export class SecretBox {
  // An ES private field: util.inspect and JSON.stringify never show it.
  readonly #key: Buffer;

  private constructor(
    /** Where the key is kept. */
    readonly keyPath: string,
    key: Buffer,
  ) {
    this.#key = key;
  }

  /**
   * Loads `<dataDir>/secrets.key`, or creates it (32 random bytes, mode 0600) when there is
   * none. Two processes starting together end up with the same key. Refuses a key file that
   * group or others may read or write (SecretKeyPermissionsError), or that is not 32 bytes
   * (SecretKeyInvalidError).
   */
  static async open(dataDir: string): Promise<SecretBox> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const path = join(dataDir, KEY_FILE);
    const existing = await readKey(path);
    if (existing) return new SecretBox(path, existing);
    await createKey(path);
    // Read back whichever key won, ours or a concurrent process's.
    const key = await readKey(path);
    if (!key) throw new SecretKeyInvalidError(path, 'cannot be found right after it was created (a dangling symbolic link?)');
    return new SecretBox(path, key);
  }

  seal(plaintext: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), nonce, cipher.getAuthTag(), body]);
  }

  /** The plaintext of `sealed`; SecretCorruptError when it was altered or is not ours. */
  unseal(sealed: Buffer): string {
    if (sealed.length < HEADER_BYTES) throw new SecretCorruptError(`${sealed.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
    if (sealed[0] !== VERSION) throw new SecretCorruptError(`unknown format version ${sealed[0]}`);
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const tag = sealed.subarray(1 + NONCE_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new SecretCorruptError('it was altered or sealed under another key', { cause: err });
    }
  }
}

/**
 * The key, or undefined when the file does not exist. The checks look at the opened file, not
 * the path, so they see what is read (a symbolic link is followed: a mounted secret may be one).
 */
async function readKey(path: string): Promise<Buffer | undefined> {
  let file: FileHandle;
  try {
    file = await open(path, constants.O_RDONLY);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw new SecretKeyInvalidError(path, 'is not a regular file');
    if ((stat.mode & 0o077) !== 0) throw new SecretKeyPermissionsError(path, stat.mode);
    if (stat.size !== KEY_BYTES) throw new SecretKeyInvalidError(path, `is ${stat.size} bytes, not ${KEY_BYTES}`);
    const key = Buffer.alloc(KEY_BYTES);
    const { bytesRead } = await file.read(key, 0, KEY_BYTES, 0);
    if (bytesRead !== KEY_BYTES) throw new SecretKeyInvalidError(path, `read ${bytesRead} bytes, not ${KEY_BYTES}`);
    return key;
  } finally {
    await file.close();
  }
}

/**
 * Writes a new key to a private temporary file (O_EXCL, 0600), syncs it, then links it to
 * `path`. link() fails when `path` exists, like O_EXCL, so a concurrent process's key is
 * never replaced; and unlike creating `path` itself with O_EXCL, nobody can read the key file
 * before its 32 bytes are written, nor does a crash leave an empty one behind.
 */
async function createKey(path: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    try {
      // The umask can only clear bits; chmod makes the mode exactly 0600 whatever it is.
      await file.chmod(0o600);
      await file.write(randomBytes(KEY_BYTES), 0, KEY_BYTES, 0);
      await file.sync();
    } finally {
      await file.close();
    }
    await link(temp, path).catch((err: unknown) => {
      if (!isCode(err, 'EEXIST')) throw err;
    });
    // The new name must survive a power cut: a database sealed under a lost key is unreadable.
    await syncDirectory(dirname(path));
  } finally {
    // A leftover temporary file is harmless; never let it hide the real error.
    await unlink(temp).catch(() => undefined);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

function formatMode(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}
