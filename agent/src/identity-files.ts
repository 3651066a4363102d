import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The agent's identity on disk: its own key (never sent anywhere), its certificate, the CA it trusts. */
export interface AgentIdentity {
  keyPem: string;
  certPem: string;
  caPem: string;
  notAfter: Date;
}

/**
 * The points of a save at which a crash (a power cut) can happen, in order. Tests inject a
 * fault after each one; `load` must then still find a key and certificate that match.
 */
export const SAVE_STEPS = ['staged', 'key-installed', 'cert-installed'] as const;
export type SaveStep = (typeof SAVE_STEPS)[number];

/** Called after each step of a save; a throw stops the save there, as a crash would. */
export type SaveFault = (step: SaveStep) => void;

/** Where a renewal's pair waits, complete and synced, before it is renamed into place. */
const NEXT = { key: 'key.pem.next', cert: 'cert.pem.next' };

/**
 * Writes an identity crash-safely. The new key and certificate are first written whole to
 * unique temporary names, fsynced, and renamed to `*.next`; only then is key.pem replaced,
 * then cert.pem (cert.pem last and whole: install-agent.sh waits for it). Between the two
 * renames key.pem and cert.pem disagree, but key.pem's old partner or cert.pem's new one is
 * still on disk, and `load` picks whichever pair matches and finishes the job.
 */
export async function saveIdentity(dir: string, identity: AgentIdentity, fault: SaveFault = () => {}): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeDurably(dir, 'ca.pem', identity.caPem, 0o644);
  await writeDurably(dir, NEXT.key, identity.keyPem, 0o600);
  await writeDurably(dir, NEXT.cert, identity.certPem, 0o644);
  fault('staged');
  await renameDurably(dir, NEXT.key, 'key.pem');
  fault('key-installed');
  await renameDurably(dir, NEXT.cert, 'cert.pem');
  fault('cert-installed');
}

/**
 * Reads the identity, recovering from a save that stopped half-way: of the keys and
 * certificates on disk (installed and `*.next`), the newest certificate with its matching
 * key wins and is put in place. Undefined when no matching pair is there.
 */
export async function loadIdentity(dir: string): Promise<AgentIdentity | undefined> {
  const caPem = await readOptional(join(dir, 'ca.pem'));
  if (caPem === undefined) return undefined;
  const keys = { installed: await readOptional(join(dir, 'key.pem')), next: await readOptional(join(dir, NEXT.key)) };
  const certs = { installed: await readOptional(join(dir, 'cert.pem')), next: await readOptional(join(dir, NEXT.cert)) };
  const pair = bestPair(keys, certs);
  if (!pair) return undefined;
  if (pair.key !== 'installed') await renameDurably(dir, NEXT.key, 'key.pem');
  if (pair.cert !== 'installed') await renameDurably(dir, NEXT.cert, 'cert.pem');
  await removeLeftovers(dir);
  return { keyPem: pair.keyPem, certPem: pair.certPem, caPem, notAfter: pair.notAfter };
}

type Slot = 'installed' | 'next';
interface Pair {
  key: Slot;
  cert: Slot;
  keyPem: string;
  certPem: string;
  notAfter: Date;
}

/** The matching key and certificate with the latest expiry (on a tie, the staged one). Pure. */
export function bestPair(keys: Record<Slot, string | undefined>, certs: Record<Slot, string | undefined>): Pair | undefined {
  let best: Pair | undefined;
  // Staged files first: a renewal in the same second as the enrolment expires in the same second, and the staged pair is newer.
  for (const cert of ['next', 'installed'] as const) {
    for (const key of ['next', 'installed'] as const) {
      const certPem = certs[cert];
      const keyPem = keys[key];
      if (certPem === undefined || keyPem === undefined) continue;
      const notAfter = matching(keyPem, certPem);
      if (notAfter && (!best || notAfter > best.notAfter)) best = { key, cert, keyPem, certPem, notAfter };
    }
  }
  return best;
}

/** The certificate's expiry when `keyPem` is its private key; undefined otherwise (or when either is torn). */
function matching(keyPem: string, certPem: string): Date | undefined {
  try {
    const cert = new X509Certificate(certPem);
    return cert.checkPrivateKey(createPrivateKey(keyPem)) ? new Date(cert.validTo) : undefined;
  } catch {
    return undefined;
  }
}

async function writeDurably(dir: string, name: string, text: string, mode: number): Promise<void> {
  const tmp = `.${name}.${randomBytes(8).toString('hex')}.tmp`;
  const file = await open(join(dir, tmp), 'wx', mode);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await renameDurably(dir, tmp, name);
}

/** A rename, then an fsync of the directory so the rename itself survives a power cut. */
async function renameDurably(dir: string, from: string, to: string): Promise<void> {
  await rename(join(dir, from), join(dir, to));
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `*.next` files a recovery did not use, and temporaries of a save cut short. */
async function removeLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name === NEXT.key || name === NEXT.cert || (name.startsWith('.') && name.endsWith('.tmp'))) await rm(join(dir, name), { force: true });
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
