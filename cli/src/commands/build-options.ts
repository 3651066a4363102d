import { realpath, stat } from 'node:fs/promises';
import { machine } from 'node:os';
import path from 'node:path';
import { InvalidInputError, isGitUrl, parseGitSource, Platform, type GitSource, type ImageRef } from '@archfarm/common';
import type { Annotation, BuildSecret, RegistryAuth } from '@archfarm/proto';
import { resolveConnection, type ConnectionFlags, type ConnectionSettings } from '../connection-settings';
import { parseChoice, parseDuration, parseKeyValues, type OutputFormat } from '../options';
import type { ProgressMode } from '../progress/renderer';
import { splitShellWords } from '../shell-words';
import { parseAnnotations } from './build-annotations';
import { parseBuildArgs } from './build-args';
import type { ResultFiles } from './build-metadata';
import { parseOutputFlags } from './build-output-flag';
import { dockerRegistryAuth } from './build-registry-auth';
import { readSecrets } from './build-secrets';
import { parseLabels, parseTags } from './build-tags';
import { parseNoProvenance } from './build-provenance';

/** What commander hands the build command: raw strings, unvalidated. */
export interface BuildFlags extends ConnectionFlags {
  platform?: string[];
  tag?: string[];
  file?: string;
  buildArg?: string[];
  target?: string;
  progress?: string;
  /** -o/--output, repeatable: json, text, or buildx's type=registry[,name=...]. */
  output?: string[];
  label?: string[];
  annotation?: string[];
  /** Accepted for buildx's sake: the farm always publishes. */
  push?: boolean;
  load?: boolean;
  metadataFile?: string;
  iidfile?: string;
  pull?: boolean;
  /** false with --no-cache (commander's negation). */
  cache?: boolean;
  secret?: string[];
  waitTimeout?: string;
  timeout?: string;
  detach?: boolean;
  allowPartial?: boolean;
  smoke?: string;
  emulation?: string;
  requireLabel?: string[];
  /** --cross-check PLATFORM, repeatable or comma-separated. */
  crossCheck?: string[];
  /** --provenance VALUE as buildx takes it (build-provenance.ts). */
  provenance?: string;
  plan?: boolean;
  /** false with --no-docker-config. */
  dockerConfig?: boolean;
  /** --forward-credentials: send the tag's registry credentials from the Docker config. */
  forwardCredentials?: boolean;
}

/**
 * --progress: the CLI's own modes plus buildx's names (buildx takes auto, plain, tty, quiet,
 * rawjson). rawjson prints archfarm's JSON events, not BuildKit's raw solve status: the farm's
 * events are what a machine reading this build wants. auto is decided once stderr is known
 * (progress/terminal.ts resolveProgress).
 */
export const PROGRESS_CHOICES = ['auto', 'plain', 'json', 'quiet', 'tty', 'rawjson'] as const;
const PROGRESS_SHOWN: Readonly<Record<(typeof PROGRESS_CHOICES)[number], ProgressMode>> = {
  auto: 'auto',
  tty: 'tty',
  plain: 'plain',
  json: 'json',
  rawjson: 'json',
  quiet: 'quiet',
};

/**
 * --emulation: prefer-native (the default) emulates only when no native agent is connected
 * or none frees up soon; deny never emulates; allow lets expected duration decide.
 */
export const EMULATION_CHOICES = ['prefer-native', 'deny', 'allow'] as const;
export type Emulation = (typeof EMULATION_CHOICES)[number];

/** A build request, validated and typed: once this exists, nothing about the input can fail. */
export interface BuildOptions {
  /** Where the coordinator is and how to trust it and authenticate. */
  connection: ConnectionSettings;
  /** connection.address, for messages. */
  coordinator: string;
  platforms: Platform[];
  /** tags[0]: the one tag old coordinators take. */
  tag: ImageRef;
  /** Every tag the index is published under, tag first. */
  tags: ImageRef[];
  /** --label: into each image config. */
  labels: Record<string, string>;
  annotations: Annotation[];
  pull: boolean;
  noCache: boolean;
  /** --secret values, read at start. Secret: never printed, sent with SubmitBuild only. */
  secrets: BuildSecret[];
  /** --metadata-file and --iidfile, written once the build is published. */
  resultFiles: ResultFiles;
  /** Absolute, symlinks resolved; '' for a git context. */
  contextDir: string;
  /**
   * A git context (`URL#ref:subdir`, buildx's syntax): nothing is packed or uploaded, the
   * coordinator fetches it. Undefined for a directory.
   */
  git: GitSource | undefined;
  dockerfile: {
    /** '' for a git context (the file is in the repository, not here). */
    absolute: string;
    /** Inside the context, '/'-separated: what the agent passes to the engine. */
    inContext: string;
  };
  buildArgs: Record<string, string>;
  /** Empty for the last stage. */
  target: string;
  /** As asked: 'auto' is decided by build.ts once it knows whether stderr is a terminal. */
  progress: ProgressMode;
  output: OutputFormat;
  /** 0: wait for an agent as long as it takes. */
  waitTimeoutSeconds: number;
  /** 0: the build may run as long as it takes; the coordinator enforces it. */
  timeoutSeconds: number;
  /** Print the build id once submitted and return instead of following the build. */
  detach: boolean;
  /** Publish the platforms that succeeded when others fail. */
  allowPartial: boolean;
  /** argv run once in each platform's image before publishing; empty: no smoke test. */
  smokeCommand: string[];
  emulation: Emulation;
  /** Only agents carrying all these labels take the build's jobs. */
  requireLabels: Record<string, string>;
  /** Ask where each platform would run (PlanBuild) instead of building. */
  plan: boolean;
  /** --cross-check: platforms built twice, on two agents, and published only if both agree. */
  crossCheck: Platform[];
  /** --provenance=false: the coordinator publishes no attestation. */
  noProvenance: boolean;
  /**
   * The tag's registry credentials from the user's Docker config, only with
   * --forward-credentials; sent with SubmitBuild only. Secret: never printed.
   */
  registryAuth: RegistryAuth | undefined;
}

export interface BuildEnv {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `uname -m` of this machine, the default platform. */
  machine?: string;
}

/** BuildKit's rule for stage names (`FROM ... AS name`). */
const STAGE = /^[a-z][a-z0-9._-]*$/i;

/**
 * Validates every flag and the context before anything talks to the coordinator;
 * each failure is an InvalidInputError naming the flag.
 */
export async function compileBuildOptions(contextArg: string, flags: BuildFlags, where: BuildEnv): Promise<BuildOptions> {
  const progress = parseProgress(flags.progress, where.env);
  const { format: output, names } = parseOutputFlags(flags.output ?? [], flags.load === true);
  const connection = resolveConnection(flags, where.env);
  const coordinator = connection.address;
  const platforms = parsePlatforms(flags.platform, where.env, where.machine ?? machine());
  const tags = parseTags(flags.tag ?? [], names);
  const tag = tags[0]!;
  const registryAuth = forwardedAuth(flags, tag, where.env);
  const buildArgs = parseBuildArgs(flags.buildArg ?? [], where.env);
  const target = parseTarget(flags.target);
  const waitTimeoutSeconds = flags.waitTimeout === undefined ? 0 : parseDuration(flags.waitTimeout, '--wait-timeout');
  const timeoutSeconds = flags.timeout === undefined ? 0 : parseDuration(flags.timeout, '--timeout');
  const smokeCommand = flags.smoke === undefined ? [] : parseSmoke(flags.smoke);
  const placement = parsePlacement(flags);
  const crossCheck = parseCrossCheck(flags.crossCheck ?? [], platforms);
  const noProvenance = parseNoProvenance(flags.provenance);
  const modes = parseModes(flags);
  const image = { labels: parseLabels(flags.label ?? []), annotations: parseAnnotations(flags.annotation ?? [], platforms), pull: flags.pull === true, noCache: flags.cache === false };
  const resultFiles = await parseResultFiles(flags, modes, where.cwd);
  const { contextDir, git, dockerfile } = await resolveSource(contextArg, flags.file, where.cwd);
  // Last: nothing else may fail once secret values are in memory.
  const secrets = await readSecrets(flags.secret ?? [], where.cwd, where.env);
  const request = { connection, coordinator, registryAuth, platforms, tag, tags, contextDir, git, dockerfile, buildArgs, target, waitTimeoutSeconds, timeoutSeconds, smokeCommand };
  return { ...request, ...image, ...placement, crossCheck, noProvenance, ...modes, secrets, resultFiles, progress, output };
}

/**
 * The operator's own login goes to the coordinator only when asked for: without
 * --forward-credentials the coordinator's stored logins (`archfarm registry login`) are used.
 * --no-docker-config (the older way to send nothing) still means nothing, so the two together
 * are a contradiction rather than a silent choice.
 */
function forwardedAuth(flags: BuildFlags, tag: ImageRef, env: BuildEnv['env']): RegistryAuth | undefined {
  if (flags.forwardCredentials !== true) return undefined;
  if (flags.dockerConfig === false) {
    throw new InvalidInputError('--forward-credentials', 'sends the credentials in your Docker config, which --no-docker-config says not to read; drop one of them');
  }
  return dockerRegistryAuth(tag, env);
}

/** The flag, else BUILDKIT_PROGRESS (as buildx reads it), else auto. */
function parseProgress(flag: string | undefined, env: BuildEnv['env']): ProgressMode {
  const fromEnv = env.BUILDKIT_PROGRESS?.trim() || undefined;
  const [text, field] = flag !== undefined ? [flag, '--progress'] : fromEnv !== undefined ? [fromEnv, 'BUILDKIT_PROGRESS'] : ['auto', '--progress'];
  return PROGRESS_SHOWN[parseChoice(text, PROGRESS_CHOICES, field)];
}

/** Files are written only after publishing; their directories must exist now, as with buildx. */
async function parseResultFiles(flags: BuildFlags, modes: Pick<BuildOptions, 'detach' | 'plan'>, cwd: string): Promise<ResultFiles> {
  const files: ResultFiles = { metadataFile: undefined, iidFile: undefined };
  for (const [flag, given, key] of [['--metadata-file', flags.metadataFile, 'metadataFile'], ['--iidfile', flags.iidfile, 'iidFile']] as const) {
    if (given === undefined) continue;
    if (given.trim() === '') throw new InvalidInputError(flag, 'is empty; give a file to write, e.g. metadata.json');
    if (modes.plan) throw new InvalidInputError(flag, '--plan publishes nothing, so there is nothing to write; drop one of them');
    if (modes.detach) throw new InvalidInputError(flag, 'is written once the build is published, which --detach does not wait for; drop one of them');
    const file = path.resolve(cwd, given);
    const dir = await stat(path.dirname(file)).catch(() => undefined);
    if (!dir?.isDirectory()) throw new InvalidInputError(flag, `the directory of "${given}" does not exist; create it first`);
    files[key] = file;
  }
  return files;
}

function parseTarget(flag: string | undefined): string {
  const target = flag?.trim() ?? '';
  if (flag !== undefined && !STAGE.test(target)) {
    throw new InvalidInputError('--target', `"${flag}" is not a stage name; use the name after AS in "FROM image AS name"`);
  }
  return target;
}

/** Which agents may take the jobs: --emulation and --require-label. */
function parsePlacement(flags: BuildFlags): Pick<BuildOptions, 'emulation' | 'requireLabels'> {
  return {
    emulation: parseChoice(flags.emulation ?? 'prefer-native', EMULATION_CHOICES, '--emulation'),
    requireLabels: parseKeyValues(flags.requireLabel ?? [], '--require-label', 'rack=pi-shelf'),
  };
}

/**
 * --cross-check: platforms of this build only (the coordinator checks again: the API is an
 * edge too). The coordinator also fixes SOURCE_DATE_EPOCH when the build gives none.
 */
function parseCrossCheck(values: readonly string[], platforms: readonly Platform[]): Platform[] {
  const checked = Platform.parseList(values.join(','), '--cross-check');
  const foreign = checked.find((c) => !platforms.some((p) => p.equals(c)));
  if (foreign) throw new InvalidInputError('--cross-check', `${foreign} is not a platform of this build (${platforms.map(String).join(',')}); add it to --platform or drop --cross-check ${foreign}`);
  return checked;
}

function parseModes(flags: BuildFlags): Pick<BuildOptions, 'detach' | 'allowPartial' | 'plan'> {
  const modes = { detach: flags.detach === true, allowPartial: flags.allowPartial === true, plan: flags.plan === true };
  if (modes.plan && modes.detach) throw new InvalidInputError('--plan', 'builds nothing, so there is nothing to --detach from; drop one of them');
  return modes;
}

/** A given but empty --smoke is a mistake (a variable that expanded to nothing), not "no test". */
function parseSmoke(text: string): string[] {
  const argv = splitShellWords(text, '--smoke');
  if (argv.length === 0) throw new InvalidInputError('--smoke', "is empty; give the command to run in each image, e.g. --smoke 'uname -m'");
  if (argv[0] === '') throw new InvalidInputError('--smoke', `"${text}" has an empty command name`);
  return argv;
}

/**
 * --platform may repeat and each may be a comma-separated list, as with buildx; without it,
 * DOCKER_DEFAULT_PLATFORM (buildx's default), else this machine's.
 */
function parsePlatforms(flag: readonly string[] | undefined, env: BuildEnv['env'], uname: string): Platform[] {
  const fromEnv = env.DOCKER_DEFAULT_PLATFORM?.trim() || undefined;
  const [values, field] = flag !== undefined ? [flag, '--platform'] : fromEnv !== undefined ? [[fromEnv], 'DOCKER_DEFAULT_PLATFORM'] : [[], '--platform'];
  if (values.length === 0) {
    try {
      return [Platform.fromUname(uname)];
    } catch (err) {
      throw new InvalidInputError('--platform', `cannot tell this machine's platform from "${uname}"; give one, e.g. --platform linux/amd64`, { cause: err });
    }
  }
  const platforms = Platform.parseList(values.join(','), field);
  if (platforms.length === 0) throw new InvalidInputError(field, 'is empty; e.g. --platform linux/amd64,linux/arm64');
  return platforms;
}

/**
 * The positional argument: a git URL by docker's and buildx's rule (isGitUrl), else a
 * directory. With a git URL, -f is a path inside the repository's subdir, as buildx has it.
 */
async function resolveSource(arg: string, file: string | undefined, cwd: string): Promise<Pick<BuildOptions, 'contextDir' | 'git' | 'dockerfile'>> {
  if (isGitUrl(arg)) return { contextDir: '', git: parseGitSource(arg, 'context'), dockerfile: { absolute: '', inContext: dockerfileInRepo(file) } };
  const contextDir = await resolveContext(arg, cwd);
  return { contextDir, git: undefined, dockerfile: await resolveDockerfile(file, contextDir, cwd) };
}

function dockerfileInRepo(flag: string | undefined): string {
  const inContext = path.posix.normalize(flag ?? 'Dockerfile');
  if (path.posix.isAbsolute(inContext) || inContext === '..' || inContext.startsWith('../') || inContext === '.') {
    throw new InvalidInputError('--file', `"${flag}" is not a file inside the repository; with a git context -f is relative to its URL#REF:SUBDIR, e.g. -f docker/Dockerfile`);
  }
  return inContext;
}

async function resolveContext(arg: string, cwd: string): Promise<string> {
  const given = path.resolve(cwd, arg);
  const info = await stat(given).catch(() => undefined);
  if (!info) throw new InvalidInputError('CONTEXT_DIR', `"${arg}" does not exist; give the directory holding the build's files, e.g. .`);
  if (!info.isDirectory()) throw new InvalidInputError('CONTEXT_DIR', `"${arg}" is not a directory; give the directory holding the build's files`);
  return realpath(given);
}

/** Like docker, -f is relative to the current directory, not to the context. */
async function resolveDockerfile(flag: string | undefined, contextDir: string, cwd: string): Promise<BuildOptions['dockerfile']> {
  const field = '--file';
  const given = flag === undefined ? path.join(contextDir, 'Dockerfile') : path.resolve(cwd, flag);
  const shown = flag ?? given;
  const missing = flag === undefined ? `no Dockerfile at ${given}; add one or point -f at it` : `"${flag}" does not exist`;
  // Resolve the directory's symlinks, not the file's: the file itself is packed as it is.
  const dir = await realpath(path.dirname(given)).catch(() => undefined);
  if (dir === undefined) throw new InvalidInputError(field, missing);
  const absolute = path.join(dir, path.basename(given));
  const inContext = path.relative(contextDir, absolute);
  if (inContext === '' || inContext === '..' || inContext.startsWith(`..${path.sep}`) || path.isAbsolute(inContext)) {
    throw new InvalidInputError(field, `"${shown}" lies outside the context ${contextDir}; move it into the context or choose a context that holds it`);
  }
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new InvalidInputError(field, missing);
  if (!info.isFile()) throw new InvalidInputError(field, `"${shown}" is not a file`);
  return { absolute, inContext: inContext.split(path.sep).join('/') };
}
