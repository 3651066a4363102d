import { ImageRef } from '@archfarm/common';
import { instructions } from './scheduling/dockerfile-analysis';

/*
 * The one reading of a Dockerfile's stages: what each FROM starts from, its --platform, its
 * name, and what its COPY --from and RUN --mount from= read. Two users: the credentials the
 * coordinator hands agents for the FROM registries (fromImages, read roughly: a reference
 * that cannot be worked out is left out, never an error) and the base digests a schedule
 * with --on-base-change resolves (./schedules/base-digests, which substitutes per platform).
 */

// $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word}, as Dockerfile variable substitution has them.
const VARIABLE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** One FROM line and the instructions under it, as written (nothing substituted). */
export interface DockerfileStage {
  /** Its position among the FROM lines: `COPY --from=0` names the first. */
  index: number;
  /** The `AS` name, lowercased (stage names are case-insensitive). */
  name?: string;
  /** The FROM's image, stage name or `scratch`, as written. */
  base: string;
  /** The FROM's `--platform=` value, as written (quotes removed). */
  platform?: string;
  /** The `COPY --from=` and `RUN --mount=...,from=` values, as written: stages or images. */
  reads: string[];
  /** The stage's own ARGs with the value they get (build arg, else default, else the global one). */
  args: ReadonlyMap<string, string>;
}

/** A Dockerfile read as stages. */
export interface DockerfileStages {
  /** The ARGs before the first FROM, with their build-arg or default value (FROM may use them). */
  globalArgs: ReadonlyMap<string, string>;
  stages: DockerfileStage[];
}

/** Reads the Dockerfile's stages; never throws (odd lines give fewer or odder stages). */
export function dockerfileStages(dockerfile: string, buildArgs: Readonly<Record<string, string>>): DockerfileStages {
  const globalArgs = new Map<string, string>();
  const stages: DockerfileStage[] = [];
  let current: (DockerfileStage & { args: Map<string, string> }) | undefined;
  for (const { keyword, args: text } of instructions(dockerfile)) {
    if (keyword === 'FROM') {
      current = { ...fromLine(text), index: stages.length, reads: [], args: new Map() };
      stages.push(current);
    } else if (keyword === 'ARG') {
      for (const [name, value] of argValues(text, buildArgs, current ? globalArgs : undefined)) (current?.args ?? globalArgs).set(name, value);
    } else if (current && (keyword === 'COPY' || keyword === 'RUN')) {
      current.reads.push(...readsOf(keyword, text));
    }
  }
  return { globalArgs, stages };
}

/**
 * The image references of the Dockerfile's FROM lines, with the global ARGs (those before
 * the first FROM) replaced by their build-arg or default value. Stage names and `scratch`
 * are not images; a reference with a variable that has no value, or that does not parse,
 * is left out. Each reference once, in order.
 */
export function fromImages(dockerfile: string, buildArgs: Readonly<Record<string, string>>): ImageRef[] {
  const { globalArgs, stages } = dockerfileStages(dockerfile, buildArgs);
  const found = new Map<string, ImageRef>();
  for (const stage of stages) {
    const image = substitute(stage.base, globalArgs);
    if (image === undefined || isScratch(image) || earlierStage(stages, stage.index, image)) continue;
    const ref = parseImageRef(image);
    if (ref) found.set(ref.toString(), ref);
  }
  return [...found.values()];
}

/** The registries (host[:port]) of the Dockerfile's FROM images. */
export function fromRegistries(dockerfile: string, buildArgs: Readonly<Record<string, string>>): string[] {
  return [...new Set(fromImages(dockerfile, buildArgs).map((r) => r.registry))];
}

/**
 * The stage a FROM at position `before` means by `name`: only an earlier stage, as Docker
 * reads FROM (a later stage's name there is an image name).
 */
export function earlierStage(stages: readonly DockerfileStage[], before: number, name: string): DockerfileStage | undefined {
  const lower = name.toLowerCase();
  return stages.slice(0, before).find((s) => s.name === lower);
}

/** `scratch`: the empty image, nothing to pull. */
export function isScratch(image: string): boolean {
  return image.toLowerCase() === 'scratch';
}

/** The text with its variables replaced, or undefined when one of them has no value. */
export function substitute(text: string, args: ReadonlyMap<string, string>): string | undefined {
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

/** The reference, or undefined when it is not one. */
export function parseImageRef(text: string): ImageRef | undefined {
  try {
    return ImageRef.parse(text, 'FROM');
  } catch {
    return undefined;
  }
}

/** `FROM [--platform=P] base [AS name]`. */
function fromLine(text: string): Pick<DockerfileStage, 'base' | 'name' | 'platform'> {
  const words = text.split(/\s+/).filter(Boolean);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const platform = flags.find((f) => f.toLowerCase().startsWith('--platform='));
  const named = rest.length >= 3 && rest[1]!.toLowerCase() === 'as';
  return {
    base: rest[0] ?? '',
    ...(named ? { name: rest[2]!.toLowerCase() } : {}),
    ...(platform ? { platform: unquote(platform.slice('--platform='.length)) } : {}),
  };
}

/** `COPY --from=X` and `RUN --mount=type=...,from=X`: what the instruction reads besides the context. */
function readsOf(keyword: 'COPY' | 'RUN', text: string): string[] {
  const flags: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!word.startsWith('--')) break;
    flags.push(word);
  }
  if (keyword === 'COPY') return flags.filter((f) => f.toLowerCase().startsWith('--from=')).map((f) => unquote(f.slice('--from='.length)));
  return flags
    .filter((f) => f.toLowerCase().startsWith('--mount='))
    .flatMap((f) => f.slice('--mount='.length).split(','))
    .filter((kv) => kv.toLowerCase().startsWith('from='))
    .map((kv) => unquote(kv.slice('from='.length)));
}

/**
 * `ARG A=1 B` -> [A, buildArgs.A ?? '1'], and B when given as a build arg. In a stage
 * (`globals` given), `ARG B` without a default also takes the global B's value, as in Docker.
 */
function* argValues(text: string, buildArgs: Readonly<Record<string, string>>, globals: ReadonlyMap<string, string> | undefined): Generator<[string, string]> {
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const value = buildArgs[name] ?? (eq < 0 ? globals?.get(name) : unquote(word.slice(eq + 1)));
    if (value !== undefined) yield [name, value];
  }
}

function unquote(text: string): string {
  return text.replace(/^(["'])(.*)\1$/, '$2');
}
