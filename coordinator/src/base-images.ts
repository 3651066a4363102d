import { ImageRef } from '@archfarm/common';
import { instructions } from './scheduling/dockerfile-analysis';

/*
 * The images a Dockerfile's FROM lines name, so the coordinator can hand agents the
 * credentials it holds for those registries (a private base image). Read roughly, like
 * dockerfile-analysis: a reference that cannot be worked out is left out, never an error.
 */

// $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word}, as Dockerfile variable substitution has them.
const VARIABLE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/**
 * The image references of the Dockerfile's FROM lines, with the global ARGs (those before
 * the first FROM) replaced by their build-arg or default value. Stage names and `scratch`
 * are not images; a reference with a variable that has no value, or that does not parse,
 * is left out. Each reference once, in order.
 */
export function fromImages(dockerfile: string, buildArgs: Readonly<Record<string, string>>): ImageRef[] {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const found = new Map<string, ImageRef>();
  let seenFrom = false;
  for (const { keyword, args: text } of instructions(dockerfile)) {
    if (keyword === 'ARG' && !seenFrom) for (const [name, value] of argDefaults(text, buildArgs)) args.set(name, value);
    if (keyword !== 'FROM') continue;
    seenFrom = true;
    const words = text.split(/\s+/).filter((w) => w !== '' && !w.startsWith('--'));
    const image = substitute(words[0] ?? '', args);
    const isImage = image !== undefined && image !== '' && image.toLowerCase() !== 'scratch' && !stages.has(image.toLowerCase());
    if (words.length >= 3 && words[1]!.toLowerCase() === 'as') stages.add(words[2]!.toLowerCase());
    const ref = isImage ? parseOrUndefined(image) : undefined;
    if (ref) found.set(ref.toString(), ref);
  }
  return [...found.values()];
}

/** The registries (host[:port]) of the Dockerfile's FROM images. */
export function fromRegistries(dockerfile: string, buildArgs: Readonly<Record<string, string>>): string[] {
  return [...new Set(fromImages(dockerfile, buildArgs).map((r) => r.registry))];
}

/** `ARG A=1 B` -> [A, buildArgs.A ?? '1'], and B only when given as a build arg. */
function* argDefaults(text: string, buildArgs: Readonly<Record<string, string>>): Generator<[string, string]> {
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const value = buildArgs[name] ?? (eq < 0 ? undefined : unquote(word.slice(eq + 1)));
    if (value !== undefined) yield [name, value];
  }
}

/** The text with its variables replaced, or undefined when one of them has no value. */
function substitute(text: string, args: ReadonlyMap<string, string>): string | undefined {
  let missing = false;
  const out = text.replace(VARIABLE, (_all, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
    const value = args.get((braced ?? bare)!);
    const set = value !== undefined && value !== '';
    if (op === '-') return set ? value : (word ?? '');
    if (op === '+') return set ? (word ?? '') : '';
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? undefined : unquote(out);
}

function unquote(text: string): string {
  return text.replace(/^(["'])(.*)\1$/, '$2');
}

function parseOrUndefined(text: string): ImageRef | undefined {
  try {
    return ImageRef.parse(text, 'FROM');
  } catch {
    return undefined;
  }
}
