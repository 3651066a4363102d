import { rmSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { errorMessage, type Logger } from '@archfarm/common';
import { DataDirLockedError, DataDirSharedError } from './errors';

/** The coordinator's hold on its data dir, released by stop() (or by the OS when the process dies). */
export interface DataDirLock {
  release(): void;
}

const LOCK_FILE = 'coordinator.lock';
const PID_FILE = 'coordinator.pid';

/**
 * Makes the data dir the coordinator's own and takes its lock: 0700 (it holds the CA key,
 * the secret box key, token hashes and every build's logs), and an older dir (0755 with 0644
 * files) is narrowed, contents included. Then the lock: a second coordinator on the same dir
 * is refused with the holder's pid.
 */
export async function openDataDir(dir: string, logger: Logger): Promise<DataDirLock> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await ownerOnly(dir, logger);
  return lock(dir);
}

async function ownerOnly(dir: string, logger: Logger): Promise<void> {
  const stat = await lstat(dir);
  // Narrowing /tmp (or a dir like it) would break every other user of it.
  if (stat.mode & 0o1000) throw new DataDirSharedError(dir);
  if ((stat.mode & 0o777) === 0o700) return;
  if (process.getuid && stat.uid !== process.getuid()) {
    // A volume root owned by root (Kubernetes fsGroup): the process cannot chmod it; its own files are still 0600.
    logger.warn({ dataDir: dir, mode: (stat.mode & 0o777).toString(8), uid: stat.uid }, 'data dir is not owned by the coordinator and stays as it is; make it 0700 and owned by this user');
    return;
  }
  await chmod(dir, 0o700);
  const opened: string[] = [];
  await narrowTree(dir, opened, logger);
  // Narrowing now does not undo what others could read before: say which files were open.
  logger.warn(
    { dataDir: dir, mode: (stat.mode & 0o777).toString(8), wereOpen: opened.slice(0, 20), count: opened.length },
    'data dir was readable by other users; made it private (dirs 0700, files 0600): check who could have read the files listed',
  );
}

/**
 * Directories 0700, files 0600, below `dir`; symlinks are left alone (chmod would follow
 * them). Files that group or others could read are added to `opened`.
 */
async function narrowTree(dir: string, opened: string[], logger: Logger): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    try {
      if (entry.isDirectory()) {
        await chmod(path, 0o700);
        await narrowTree(path, opened, logger);
      } else if (entry.isFile()) {
        if ((await lstat(path)).mode & 0o044) opened.push(path);
        await chmod(path, 0o600);
      }
    } catch (err) {
      logger.warn({ path, err: errorMessage(err) }, 'could not narrow the mode of a data dir entry');
    }
  }
}

/**
 * An OS lock, not a pid file: SQLite's exclusive lock on DATA/coordinator.lock (an fcntl lock,
 * held while the connection is open) is dropped by the kernel when the process dies however it
 * dies, so a kill -9 never leaves a stale lock behind, and a recycled pid cannot fake one. The
 * pid file beside it only names the holder in the refusal.
 */
async function lock(dir: string): Promise<DataDirLock> {
  const db = new Database(join(dir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept until close.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;');
    db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY') || (err as { code?: string }).code === 'SQLITE_LOCKED') throw new DataDirLockedError(dir, await holderPid(dir));
    throw err;
  }
  const pidFile = join(dir, PID_FILE);
  await writeFile(`${pidFile}.tmp`, `${process.pid}\n`, { mode: 0o600 });
  await rename(`${pidFile}.tmp`, pidFile);
  return {
    release: () => {
      db.close();
      rmSync(pidFile, { force: true });
    },
  };
}

async function holderPid(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, PID_FILE), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
