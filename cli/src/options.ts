import { HostPort, InvalidInputError } from '@archfarm/common';

/** Where the coordinator listens when neither --coordinator nor ARCHFARM_COORDINATOR says. */
export const DEFAULT_COORDINATOR = '127.0.0.1:7420';
const DEFAULT_PORT = 7420;
/** gRPC target schemes passed through untouched (grpc-js naming). */
const SCHEMES = /^(?:dns|unix|unix-abstract|ipv4|ipv6):/;

/**
 * The coordinator's address: the flag, else ARCHFARM_COORDINATOR, else the config file's
 * (`archfarm login` stores it), else the default (flags over environment over file). A
 * missing port means archfarm's own, 7420, not gRPC's 443.
 */
export function resolveCoordinator(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  configured?: { value: string; field: string },
): string {
  const fromEnv = env.ARCHFARM_COORDINATOR?.trim() || undefined;
  const [given, field] =
    flag !== undefined
      ? [flag, '--coordinator']
      : fromEnv !== undefined
        ? [fromEnv, 'ARCHFARM_COORDINATOR']
        : configured !== undefined
          ? [configured.value, configured.field]
          : [DEFAULT_COORDINATOR, '--coordinator'];
  const text = given.trim();
  if (SCHEMES.test(text)) return text;
  return HostPort.parse(text, field, { defaultPort: DEFAULT_PORT, example: '--coordinator 10.0.0.5:7420' }).toString();
}

/** True for a gRPC target with a scheme (unix:/run/x.sock), false for host:port. */
export function isSchemeAddress(address: string): boolean {
  return SCHEMES.test(address);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { h: 3600, m: 60, s: 1 };
/** Largest value of the wire's uint32 seconds. */
const MAX_SECONDS = 0xffff_ffff;

/**
 * Parses a duration in whole seconds: "90" (seconds), "30s", "5m", "1h", or Go-style
 * combinations like "1h30m". "0" means no limit.
 */
export function parseDuration(text: string, field: string): number {
  const trimmed = text.trim().toLowerCase();
  const bad = (why: string): never => {
    throw new InvalidInputError(field, `"${text}" ${why}; write seconds or a number with a unit, e.g. 90, 30s, 5m, 1h, 1h30m`);
  };
  if (/^\d+$/.test(trimmed)) return checkRange(Number(trimmed), bad);
  if (trimmed === '' || !/^(?:\d+[hms])+$/.test(trimmed)) return bad('is not a duration');
  let seconds = 0;
  const seen = new Set<string>();
  for (const [, num, unit] of trimmed.matchAll(/(\d+)([hms])/g)) {
    if (seen.has(unit!)) bad(`repeats the unit "${unit}"`);
    seen.add(unit!);
    seconds += Number(num) * DURATION_UNITS[unit!]!;
  }
  return checkRange(seconds, bad);
}

function checkRange(seconds: number, bad: (why: string) => never): number {
  return seconds <= MAX_SECONDS ? seconds : bad('is too long');
}

/**
 * Parses repeated KEY=VALUE flags into a map; the value may hold '=' and may be empty,
 * and a later KEY wins, as with `docker build --build-arg`.
 */
export function parseKeyValues(items: readonly string[], field: string, example = 'VERSION=1.4'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq);
    if (eq < 0 || !/^[^\s=]+$/.test(key)) {
      throw new InvalidInputError(field, `"${item}" is not KEY=VALUE; write e.g. ${field} ${example}`);
    }
    out[key] = item.slice(eq + 1);
  }
  return out;
}

/** Checks that `text` is one of `choices`, naming the flag and the choices when not. */
export function parseChoice<T extends string>(text: string, choices: readonly T[], field: string): T {
  const found = choices.find((c) => c === text.trim().toLowerCase());
  if (found === undefined) {
    throw new InvalidInputError(field, `"${text}" is not one of ${choices.join(', ')}`);
  }
  return found;
}

/** --output: what goes to stdout, for people ('text') or machines ('json'). */
export type OutputFormat = 'text' | 'json';
export const OUTPUT_CHOICES: readonly OutputFormat[] = ['text', 'json'];

/** Commander argument parser that collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
