import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, errorMessage } from '@archfarm/common';
import type { BuildSecret } from '@archfarm/proto';
import { keyValueFields } from '../csv-fields';

/** BuildKit's cap on one secret (secretsprovider.MaxSecretSize); bigger ones it refuses too. */
export const MAX_SECRET_BYTES = 500 * 1024;

const FIELD = '--secret';
const EXAMPLE = 'id=npmrc,src=$HOME/.npmrc';

/** Where one --secret's value comes from, resolved as buildx and BuildKit do. */
type Source = { id: string; file: string } | { id: string; env: string };

/**
 * Reads every `--secret [type=file|env,]id=ID[,src=FILE|,env=VAR]` now, so a missing file or
 * variable fails before anything is sent. As with buildx, `id` is required; without src/env
 * and type, the variable named ID is used when it is set, else the file named ID. Messages
 * name the flag, the id and the file or variable, never the value.
 */
export async function readSecrets(values: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<BuildSecret[]> {
  const secrets: BuildSecret[] = [];
  for (const text of values) {
    const source = parseSource(text, env);
    if (secrets.some((s) => s.id === source.id)) {
      throw new InvalidInputError(FIELD, `id=${source.id} is given twice; give each secret one --secret`);
    }
    const value = 'env' in source ? fromEnv(source, env) : await fromFile(source, cwd);
    if (value.length > MAX_SECRET_BYTES) {
      throw new InvalidInputError(FIELD, `id=${source.id} is ${value.length} bytes; a secret is at most ${MAX_SECRET_BYTES / 1024} KiB (BuildKit's limit)`);
    }
    secrets.push({ id: source.id, value });
  }
  return secrets;
}

function parseSource(text: string, env: Readonly<Record<string, string | undefined>>): Source {
  let type: string | undefined;
  let id: string | undefined;
  let src: string | undefined;
  let envName: string | undefined;
  for (const [key, value] of keyValueFields(text, FIELD, EXAMPLE)) {
    if (key === 'type') type = value.trim().toLowerCase();
    else if (key === 'id') id = value.trim();
    else if (key === 'src' || key === 'source') src = value;
    else if (key === 'env') envName = value.trim();
    else throw new InvalidInputError(FIELD, `"${text}": unknown key "${key}"; use type, id, src (or source) and env`);
  }
  if (type !== undefined && type !== 'file' && type !== 'env') throw new InvalidInputError(FIELD, `"${text}": type=${type} is not file or env`);
  if (id === undefined || id === '') {
    throw new InvalidInputError(FIELD, `"${text}" has no id=; give the id the Dockerfile mounts (RUN --mount=type=secret,id=ID), e.g. ${FIELD} ${EXAMPLE}`);
  }
  if (/[\s,]/.test(id)) throw new InvalidInputError(FIELD, `id "${id}" has a blank or a comma`);
  if (src !== undefined && envName !== undefined && type !== 'env') {
    throw new InvalidInputError(FIELD, `id=${id}: give src=FILE or env=VAR, not both`);
  }
  if (type === 'env') return { id, env: envName ?? src ?? id };
  if (type === 'file') {
    if (envName !== undefined) throw new InvalidInputError(FIELD, `id=${id}: type=file takes src=FILE, not env=`);
    return { id, file: src ?? id };
  }
  if (envName !== undefined) return { id, env: envName };
  if (src !== undefined) return { id, file: src };
  return env[id] !== undefined ? { id, env: id } : { id, file: id };
}

function fromEnv(source: { id: string; env: string }, env: Readonly<Record<string, string | undefined>>): Buffer {
  const value = env[source.env];
  if (value === undefined) {
    throw new InvalidInputError(FIELD, `id=${source.id}: the environment variable ${source.env} is not set; export it, or read a file with src=FILE`);
  }
  return Buffer.from(value);
}

async function fromFile(source: { id: string; file: string }, cwd: string): Promise<Buffer> {
  const file = path.resolve(cwd, source.file);
  const missing = (why: string, cause?: unknown): never => {
    throw new InvalidInputError(FIELD, `id=${source.id}: cannot read ${file}: ${why}; give the file holding the secret with src=FILE, or a variable with env=VAR`, { cause });
  };
  const info = await stat(file).catch((err: unknown) => missing((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err), err));
  if (!info.isFile()) return missing('not a file');
  // Check the size before reading: a huge file named by mistake is not read into memory.
  if (info.size > MAX_SECRET_BYTES) {
    throw new InvalidInputError(FIELD, `id=${source.id}: ${file} is ${info.size} bytes; a secret is at most ${MAX_SECRET_BYTES / 1024} KiB (BuildKit's limit)`);
  }
  return readFile(file).catch((err: unknown) => missing(errorMessage(err), err));
}
