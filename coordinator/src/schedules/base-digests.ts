import { Platform, type ImageRef } from '@archfarm/common';
import { dockerfileStages, earlierStage, isScratch, parseImageRef, substitute, type DockerfileStage } from '../base-images';
import type { PlatformBaseRecord } from '../store';

/*
 * Which base images a build uses, per platform, so a schedule with --on-base-change can
 * tell whether any changed (issue 16). Pure: ./base-resolver asks the registries.
 *
 * The build platform ($BUILDPLATFORM) is not known before placement: a native agent builds
 * on the target platform, a cross-compiling or emulating one on its own CPU, and the fleet
 * changes between ticks. So an image a stage pulls for $BUILDPLATFORM is resolved to the
 * digest of the tag itself (its whole index): any change to any of its platforms counts.
 * That never misses a change the build could see, at the price of a rebuild for a change
 * on a platform no agent builds on; resolving for "every platform the farm could build
 * on" instead would make the bases depend on which agents happen to be connected.
 */

/** The `platform` of a record for an image pulled for $BUILDPLATFORM: its digest is the tag's own (see above). */
export const BUILD_PLATFORM = '$BUILDPLATFORM';

/** What a build's bases are worked out from: the build's own Dockerfile, args, target and platforms. */
export interface BaseInput {
  dockerfile: string;
  buildArgs: Readonly<Record<string, string>>;
  /** The stage to build; '' is the last one. */
  target: string;
  platforms: readonly Platform[];
}

/** One image a platform's build pulls, and what to resolve it for. */
export interface BaseNeed {
  ref: ImageRef;
  /** The platform whose manifest counts, or BUILD_PLATFORM for the tag's own digest. */
  resolveFor: Platform | typeof BUILD_PLATFORM;
}

export interface PlatformBases {
  /** The target platform. */
  platform: Platform;
  /** The images its build needs, each once, in the Dockerfile's order. */
  bases: BaseNeed[];
}

export interface BasePlan {
  platforms: PlatformBases[];
  /**
   * What could not be worked out ("FROM $UNSET/app: ..."): the build would fail on it or
   * the check would miss a change, so the resolver refuses rather than leave it out.
   */
  unresolved: string[];
}

// $BUILDPLATFORM, ${BUILDOS}, ...: the build platform's automatic ARGs.
const BUILD_ARG = /\$\{?BUILD(?:PLATFORM|OS|ARCH|VARIANT)\b/;

/**
 * Per target platform, the images the target stage's build pulls: its FROM chain's images
 * and those its COPY --from and RUN --mount from= read, through every stage it depends on
 * (stages it does not depend on are left out, as BuildKit skips them). `scratch` and stage
 * names are not images. Global ARGs take their build-arg or default value, the target
 * platform's automatic ARGs (TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT) theirs.
 * `--platform=` fixes the platform an image is resolved for; without one, the target.
 */
export function basesToResolve(input: BaseInput): BasePlan {
  const { globalArgs, stages } = dockerfileStages(input.dockerfile, input.buildArgs);
  const unresolved = new Set<string>();
  const target = targetStage(stages, input.target);
  if (!target) {
    const why = stages.length === 0 ? 'the Dockerfile has no FROM line' : `target stage "${input.target}" is not in the Dockerfile`;
    return { platforms: input.platforms.map((platform) => ({ platform, bases: [] })), unresolved: [why] };
  }
  const platforms = input.platforms.map((platform) => {
    const walk = new StageWalk(stages, new Map([...globalArgs, ...targetArgs(platform)]), platform, (why) => unresolved.add(why));
    walk.visit(target);
    return { platform, bases: walk.bases };
  });
  return { platforms, unresolved: [...unresolved] };
}

/** The distinct (image, platform to resolve for) pairs of a plan, in its order: what the resolver asks for. */
export function distinctNeeds(plan: BasePlan): BaseNeed[] {
  const seen = new Map<string, BaseNeed>();
  for (const need of plan.platforms.flatMap((p) => p.bases)) seen.set(needKey(need), seen.get(needKey(need)) ?? need);
  return [...seen.values()];
}

/** The record's `platform` for a need: the platform's normal form, or BUILD_PLATFORM. */
export function resolveForLabel(need: BaseNeed): string {
  return need.resolveFor === BUILD_PLATFORM ? BUILD_PLATFORM : need.resolveFor.toString();
}

/**
 * What changed between the bases the last build used and those resolved now, one line per
 * image and platform, in the form `schedules show` prints: "base REF PLATFORM changed
 * sha256:... -> sha256:..." (full digests, so a line can be checked against the registry),
 * "base REF PLATFORM new sha256:..." and "base REF PLATFORM gone (was sha256:...)".
 * Changed and new lines come in `current`'s order, gone ones after, in `previous`'s. Empty
 * when nothing changed (the order of the records does not matter).
 */
export function baseChanges(previous: readonly PlatformBaseRecord[], current: readonly PlatformBaseRecord[]): string[] {
  const before = new Map(previous.map((r) => [recordKey(r), r]));
  const now = new Set(current.map(recordKey));
  const lines: string[] = [];
  for (const record of current) {
    const old = before.get(recordKey(record));
    if (!old) lines.push(`base ${record.ref} ${record.platform} new ${record.digest}`);
    else if (old.digest !== record.digest) lines.push(`base ${record.ref} ${record.platform} changed ${old.digest} -> ${record.digest}`);
  }
  for (const record of previous) if (!now.has(recordKey(record))) lines.push(`base ${record.ref} ${record.platform} gone (was ${record.digest})`);
  return lines;
}

/** Walks the stages one target platform's build runs, from the target back. */
class StageWalk {
  readonly bases: BaseNeed[] = [];
  private readonly seen = new Set<string>();
  private readonly visited = new Set<number>();

  constructor(
    private readonly stages: readonly DockerfileStage[],
    private readonly args: ReadonlyMap<string, string>,
    private readonly target: Platform,
    private readonly problem: (why: string) => void,
  ) {}

  /** Visits a stage once, with the stages it reads. */
  visit(stage: DockerfileStage): void {
    if (this.visited.has(stage.index)) return;
    this.visited.add(stage.index);
    const platform = this.platformOf(stage);
    const parent = this.image(`FROM ${stage.base}`, stage.base, this.args, platform, (name) => earlierStage(this.stages, stage.index, name));
    if (parent) this.visit(parent);
    const local = new Map([...this.args, ...stage.args]);
    for (const read of stage.reads) {
      const from = this.image(`--from=${read}`, read, local, platform, (name) => this.stageNamed(name));
      if (from) this.visit(from);
    }
  }

  /** Its own --platform, else that of the stage it starts from (BuildKit carries it over), else the target. */
  private platformOf(stage: DockerfileStage): Platform | typeof BUILD_PLATFORM {
    const own = this.stagePlatform(stage);
    if (own) return own;
    const base = substitute(stage.base, this.args);
    const parent = base === undefined ? undefined : earlierStage(this.stages, stage.index, base);
    return parent ? this.platformOf(parent) : this.target;
  }

  /**
   * Records the image `text` names for `platform`, or returns the stage it names. Problems
   * (a variable without a value, a reference that does not parse) go to `problem`.
   */
  private image(where: string, text: string, args: ReadonlyMap<string, string>, platform: Platform | typeof BUILD_PLATFORM, stage: (name: string) => DockerfileStage | undefined): DockerfileStage | undefined {
    if (BUILD_ARG.test(text)) return void this.problem(`${where}: the image name depends on the build platform, which is not known before placement`);
    const value = substitute(text, args);
    if (value === undefined) return void this.problem(`${where}: a variable in it has no value (give it with --build-arg or an ARG default)`);
    if (isScratch(value)) return undefined;
    const named = stage(value);
    if (named) return named;
    const ref = parseImageRef(value);
    if (!ref) return void this.problem(`${where}: "${value}" is not an image reference`);
    const need: BaseNeed = { ref, resolveFor: platform };
    if (!this.seen.has(needKey(need))) this.bases.push(need);
    this.seen.add(needKey(need));
    return undefined;
  }

  /** The --platform of a FROM, or undefined without one. */
  private stagePlatform(stage: DockerfileStage): Platform | typeof BUILD_PLATFORM | undefined {
    if (stage.platform === undefined) return undefined;
    if (BUILD_ARG.test(stage.platform)) return BUILD_PLATFORM;
    const value = substitute(stage.platform, this.args);
    try {
      if (value !== undefined) return Platform.parse(value, 'FROM --platform');
    } catch {
      // reported below
    }
    this.problem(`FROM --platform=${stage.platform} ${stage.base}: not a platform archfarm knows`);
    return this.target;
  }

  /** `--from=` names a stage by name (any position) or by its index. */
  private stageNamed(name: string): DockerfileStage | undefined {
    if (/^\d+$/.test(name)) return this.stages[Number(name)];
    return this.stages.find((s) => s.name === name.toLowerCase());
  }
}

function targetStage(stages: readonly DockerfileStage[], target: string): DockerfileStage | undefined {
  if (target === '') return stages[stages.length - 1];
  return stages.find((s) => s.name === target.toLowerCase());
}

/** The target platform's automatic ARGs, as BuildKit defines them in the global scope. */
function targetArgs(platform: Platform): Array<[string, string]> {
  return [
    ['TARGETPLATFORM', platform.toString()],
    ['TARGETOS', platform.os],
    ['TARGETARCH', platform.architecture],
    ['TARGETVARIANT', platform.variant ?? ''],
  ];
}

function needKey(need: BaseNeed): string {
  return `${need.ref.toString()} ${resolveForLabel(need)}`;
}

function recordKey(record: PlatformBaseRecord): string {
  return `${record.ref} ${record.platform}`;
}
