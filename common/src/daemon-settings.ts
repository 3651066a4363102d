import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { InvalidInputError, errorMessage } from './errors';
import { parseDiskSize, parseDuration } from './retention';

/**
 * The daemons' settings, each said once: its flag, its ARCHFARM_* variable, its config-file
 * key and how its text is read. Precedence is flag > environment > config file > default,
 * and defaults are not here: they live in the options modules (compileOptions), which see
 * only what the operator set. commander parses flags and reads the environment (Option.env,
 * shown in --help); the file, the precedence past commander and the typed parsing are ours,
 * because no config library takes commander's table as its schema and a second schema would
 * say every setting twice.
 */

/** How a setting's text is read: a duration is milliseconds, a size bytes, a count a whole number ≥ 1. */
export type SettingKind = 'string' | 'duration' | 'size' | 'count' | 'boolean' | 'list';

export interface Setting<Options> {
  /** `--lease-ttl`; the config key is its camelCase (`leaseTtl`), the variable ARCHFARM_LEASE_TTL. */
  flag: string;
  /** The value's name in --help, `<duration>`; absent for a boolean. */
  value?: string;
  kind: SettingKind;
  /** The options field it fills. */
  option: keyof Options & string;
  help: string;
  /** The default as shown in --help (the options module's constant, formatted). */
  shownDefault?: string;
  /** Variable other than ARCHFARM_<FLAG> (kept for names that predate this table). */
  env?: string;
  /** Never logged (a join token). */
  secret?: boolean;
  hidden?: boolean;
  /**
   * Checks a string setting that its options module parses later (--retention is kept as its
   * text there), so a bad value is refused here, naming the flag, variable or file key.
   */
  check?: (text: string, field: string) => unknown;
}

/** Where a setting's value came from, for the start-up log line. */
export type SettingSource = 'flag' | 'env' | 'file';

export interface ResolvedSettings<Options> {
  options: Partial<Options>;
  /** Per config key: its value as given (secrets redacted) and where it came from. */
  given: Record<string, { value: unknown; from: SettingSource }>;
}

/** `--lease-ttl` -> `leaseTtl`, as commander names the attribute. */
export function settingKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function settingEnv(setting: { flag: string; env?: string }): string {
  return setting.env ?? `ARCHFARM_${setting.flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** Adds every setting to `cmd` (with its variable and shown default), and `--config FILE` with `configEnv`. */
export function addSettings<O>(cmd: Command, settings: readonly Setting<O>[], configEnv: string, configExample: string): Command {
  for (const s of settings) {
    const flags = s.value ? `${s.flag} ${s.value}` : s.flag;
    const help = s.shownDefault === undefined ? s.help : `${s.help} (default: ${s.shownDefault})`;
    const option = new Option(flags, help).env(settingEnv(s));
    if (s.kind === 'list') option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    if (s.hidden) option.hideHelp();
    cmd.addOption(option);
  }
  cmd.addOption(new Option('--config <file>', `JSON file of settings, keys named like the flags in camelCase, e.g. ${configExample}; flags and ARCHFARM_* variables override it`).env(configEnv));
  return cmd;
}

/**
 * What the operator set, by flag, variable or config file, parsed and typed; nothing set is
 * absent (its default is the options module's). Errors name the flag, the variable or the
 * file and key at fault.
 */
export function resolveSettings<O>(cmd: Command, settings: readonly Setting<O>[], env: NodeJS.ProcessEnv = process.env): ResolvedSettings<O> {
  const opts = cmd.opts<Record<string, unknown>>();
  const file = readConfigFile(opts.config as string | undefined, settings);
  const options: Record<string, unknown> = {};
  const given: ResolvedSettings<O>['given'] = {};
  for (const s of settings) {
    const key = settingKey(s.flag);
    const source = cmd.getOptionValueSource(key);
    let raw: unknown;
    let from: SettingSource;
    let field: string;
    if (source === 'cli') [raw, from, field] = [opts[key], 'flag', s.flag];
    // commander sets a boolean true for any value of its variable, "false" included, and makes
    // one list item of a variable's whole text: read both raw here.
    // An empty variable is an unset one (systemd EnvironmentFiles write KEY= for "no value").
    else if (source === 'env' && (env[settingEnv(s)] ?? '').trim() === '') continue;
    else if (source === 'env') [raw, from, field] = [s.kind === 'boolean' || s.kind === 'list' ? env[settingEnv(s)] : opts[key], 'env', settingEnv(s)];
    else if (file && key in file.values) [raw, from, field] = [file.values[key], 'file', `${file.path}: ${key}`];
    else continue;
    const value = parseSetting(s.kind, raw, field, from);
    if (s.check && typeof value === 'string') s.check(value, field);
    options[s.option] = value;
    given[key] = { value: s.secret ? '[redacted]' : value, from };
  }
  return { options: options as Partial<O>, given };
}

function readConfigFile<O>(path: string | undefined, settings: readonly Setting<O>[]): { path: string; values: Record<string, unknown> } | undefined {
  if (path === undefined) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidInputError('--config', `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new InvalidInputError('--config', `${path} must hold a JSON object of settings, e.g. {"listen": "0.0.0.0:7420"}`);
  const known = new Set(settings.map((s) => settingKey(s.flag)));
  for (const key of Object.keys(values)) {
    if (!known.has(key)) throw new InvalidInputError(`${path}: ${key}`, `unknown key; the keys are ${[...known].join(', ')}`);
  }
  return { path, values: values as Record<string, unknown> };
}

/** One value, from a flag or variable (text; a list from flags is an array) or the file (JSON). */
export function parseSetting(kind: SettingKind, raw: unknown, field: string, from: SettingSource): unknown {
  switch (kind) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(1|true|yes)$/i.test(raw.trim())) return true;
      if (typeof raw === 'string' && /^(0|false|no|)$/i.test(raw.trim())) return false;
      throw new InvalidInputError(field, `must be true or false, got ${JSON.stringify(raw)}`);
    case 'list':
      if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return raw;
      // A variable holds the whole list: ARCHFARM_LABEL=rack=3,site=home.
      if (typeof raw === 'string' && from !== 'file') return raw.split(',').map((v) => v.trim()).filter((v) => v !== '');
      throw new InvalidInputError(field, `must be a list of strings, e.g. ["a", "b"], got ${JSON.stringify(raw)}`);
    case 'count': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(field, `must be a whole number of at least 1, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'duration':
      if (typeof raw !== 'string') throw new InvalidInputError(field, `must be a duration with a unit as a string, e.g. "30s", got ${JSON.stringify(raw)}`);
      return parseDuration(raw, field);
    case 'size':
      if (typeof raw !== 'string') throw new InvalidInputError(field, `must be a size with a unit as a string, e.g. "2GiB", got ${JSON.stringify(raw)}`);
      return parseDiskSize(raw, field);
    case 'string':
      if (typeof raw !== 'string' || raw.trim() === '') throw new InvalidInputError(field, `must be a non-empty string, got ${JSON.stringify(raw)}`);
      return raw.trim();
  }
}
