import { lstat, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from '@balena/dockerignore';

/** The ignore rules of a context, as `docker build` reads them. */
export interface IgnoreRules {
  matcher: Ignore;
  /** Whether any rule starts with '!': then an ignored directory may still hold kept files. */
  hasExceptions: boolean;
}

/**
 * Reads `<Dockerfile>.dockerignore` next to the Dockerfile if there is one (BuildKit's
 * precedence), else `.dockerignore` at the context root; no file means no rules.
 */
export async function loadIgnoreRules(contextDir: string, dockerfileAbsolute: string): Promise<IgnoreRules> {
  const text = (await readOptional(`${dockerfileAbsolute}.dockerignore`)) ?? (await readOptional(path.join(contextDir, '.dockerignore'))) ?? '';
  const patterns = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return { matcher: ignore().add(patterns), hasExceptions: patterns.some((p) => p.startsWith('!')) };
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Lists what goes into the context tar: directories, regular files and symlinks (not
 * followed) under `contextDir`, as '/'-separated relative paths, sorted by code unit so
 * the same tree always gives the same tar (a parent always sorts before its children).
 * Like the docker CLI, the Dockerfile and .dockerignore are sent even when ignored, since
 * the engine needs the one and the other says to drop both from COPY.
 */
export async function listContext(contextDir: string, rules: IgnoreRules, alwaysInclude: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  await walk(contextDir, '', rules, out);
  for (const file of alwaysInclude) {
    if (!out.includes(file) && (await exists(contextDir, file))) out.push(file);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function walk(root: string, dir: string, rules: IgnoreRules, out: string[]): Promise<void> {
  const entries = await readdir(path.join(root, dir), { withFileTypes: true });
  for (const entry of entries) {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
    const ignored = rules.matcher.ignores(rel);
    if (entry.isDirectory()) {
      if (!ignored) out.push(rel);
      // Skipping an ignored subtree (node_modules, .git) is what keeps big repos fast;
      // only an exception rule can bring something back from inside it.
      if (!ignored || rules.hasExceptions) await walk(root, rel, rules, out);
    } else if ((entry.isFile() || entry.isSymbolicLink()) && !ignored) {
      out.push(rel);
    }
    // Sockets, FIFOs and devices have no place in an image build; docker skips them too.
  }
}

async function exists(root: string, rel: string): Promise<boolean> {
  return lstat(path.join(root, rel)).then(
    () => true,
    () => false,
  );
}
