import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ConfigFileInvalidError } from './errors';

/**
 * What `archfarm login` stores: where the coordinator is, the API token, and the CA that
 * signed the coordinator's certificate (pinned by fingerprint at login). Every field is
 * optional when read: a hand-written file may hold only some.
 */
export interface CliConfig {
  coordinator?: string;
  token?: string;
  caPem?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** $ARCHFARM_CONFIG, else ~/.config/archfarm/config.json. */
export function configPath(env: Env): string {
  const given = env.ARCHFARM_CONFIG?.trim();
  if (given) return given;
  return path.join(env.HOME?.trim() || homedir(), '.config', 'archfarm', 'config.json');
}

/** What a config file holds; a missing file is an empty config. */
export interface LoadedConfig {
  path: string;
  config: CliConfig;
  /** Set when others may read the file, which holds a token: a warning for stderr. */
  warning: string | undefined;
}

/** Reads and checks the config file; throws ConfigFileInvalidError naming the file when it is unusable. */
export function readConfig(env: Env): LoadedConfig {
  const file = configPath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path: file, config: {}, warning: undefined };
    throw new ConfigFileInvalidError(file, `cannot read it: ${(err as Error).message}`, { cause: err });
  }
  return { path: file, config: parseConfig(file, text), warning: permissionWarning(file) };
}

function parseConfig(file: string, text: string): CliConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // No cause: the parser's message quotes the text, and the text holds a token.
    throw new ConfigFileInvalidError(file, 'it is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigFileInvalidError(file, 'it is not a JSON object');
  const out: CliConfig = {};
  for (const key of ['coordinator', 'token', 'caPem'] as const) {
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') throw new ConfigFileInvalidError(file, `"${key}" is not a string`);
    out[key] = value;
  }
  return out;
}

function permissionWarning(file: string): string | undefined {
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) === 0) return undefined;
    return `${file} holds an API token and others may read it (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${file}`;
  } catch {
    return undefined;
  }
}

/**
 * Writes the config file readable by its owner only (directory 0700, file 0600), through a
 * temporary file and a rename so a crash never leaves half a token.
 */
export function writeConfig(env: Env, config: CliConfig): string {
  const file = configPath(env);
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only to a new file; a stale temp file keeps its own.
  chmodSync(temp, 0o600);
  renameSync(temp, file);
  return file;
}
