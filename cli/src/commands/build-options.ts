import { realpath, stat } from 'node:fs/promises';
import { machine } from 'node:os';
import path from 'node:path';
import { ImageRef, InvalidInputError, Platform } from '@archfarm/common';
import type { RegistryAuth } from '@archfarm/proto';
import { resolveConnection, type ConnectionFlags, type ConnectionSettings } from '../connection-settings';
import { OUTPUT_CHOICES, parseChoice, parseDuration, parseKeyValues, type OutputFormat } from '../options';
import type { ProgressMode } from '../progress/renderer';
import { splitShellWords } from '../shell-words';
import { dockerRegistryAuth } from './build-registry-auth';

/** What commander hands the build command: raw strings, unvalidated. */
export interface BuildFlags extends ConnectionFlags {
  platform?: string[];
  tag?: string[];
  file?: string;
  buildArg?: string[];
  target?: string;
  progress?: string;
  output?: string;
  waitTimeout?: string;
  timeout?: string;
  detach?: boolean;
  allowPartial?: boolean;
  smoke?: string;
  emulation?: string;
  requireLabel?: string[];
  plan?: boolean;
  /** false with --no-docker-config. */
  dockerConfig?: boolean;
}

export const PROGRESS_CHOICES = ['auto', 'plain', 'json', 'quiet'] as const;

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
  tag: ImageRef;
  /** Absolute, symlinks resolved. */
  contextDir: string;
  dockerfile: {
    absolute: string;
    /** Inside the context, '/'-separated: what the agent passes to the engine. */
    inContext: string;
  };
  buildArgs: Record<string, string>;
  /** Empty for the last stage. */
  target: string;
  progress: Exclude<ProgressMode, 'auto'>;
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
  /**
   * The tag's registry credentials from the user's Docker config (unless --no-docker-config),
   * sent with SubmitBuild only. Secret: never printed.
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
  const progress = parseChoice(flags.progress ?? 'auto', PROGRESS_CHOICES, '--progress');
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const connection = resolveConnection(flags, where.env);
  const coordinator = connection.address;
  const platforms = parsePlatforms(flags.platform ?? [], where.machine ?? machine());
  const tag = parseTag(flags.tag ?? []);
  const registryAuth = flags.dockerConfig === false ? undefined : dockerRegistryAuth(tag, where.env);
  const buildArgs = parseKeyValues(flags.buildArg ?? [], '--build-arg');
  const target = parseTarget(flags.target);
  const waitTimeoutSeconds = flags.waitTimeout === undefined ? 0 : parseDuration(flags.waitTimeout, '--wait-timeout');
  const timeoutSeconds = flags.timeout === undefined ? 0 : parseDuration(flags.timeout, '--timeout');
  const smokeCommand = flags.smoke === undefined ? [] : parseSmoke(flags.smoke);
  const placement = parsePlacement(flags);
  const modes = parseModes(flags);
  const contextDir = await resolveContext(contextArg, where.cwd);
  const dockerfile = await resolveDockerfile(flags.file, contextDir, where.cwd);
  // 'auto' will pick a TTY renderer one day; for now every terminal gets plain lines.
  const shown = progress === 'auto' ? 'plain' : progress;
  const request = { connection, coordinator, registryAuth, platforms, tag, contextDir, dockerfile, buildArgs, target, waitTimeoutSeconds, timeoutSeconds, smokeCommand };
  return { ...request, ...placement, ...modes, progress: shown, output };
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

/** --platform may repeat and each may be a comma-separated list, as with buildx. */
function parsePlatforms(values: readonly string[], uname: string): Platform[] {
  if (values.length === 0) {
    try {
      return [Platform.fromUname(uname)];
    } catch (err) {
      throw new InvalidInputError('--platform', `cannot tell this machine's platform from "${uname}"; give one, e.g. --platform linux/amd64`, { cause: err });
    }
  }
  const platforms = Platform.parseList(values.join(','), '--platform');
  if (platforms.length === 0) throw new InvalidInputError('--platform', 'is empty; e.g. --platform linux/amd64,linux/arm64');
  return platforms;
}

function parseTag(values: readonly string[]): ImageRef {
  const example = 'e.g. -t 127.0.0.1:5000/hello:1';
  if (values.length === 0) throw new InvalidInputError('--tag', `is required: the image to publish, ${example}`);
  if (values.length > 1) {
    throw new InvalidInputError('--tag', `give one tag (got ${values.length}: ${values.join(', ')}); several tags are not supported yet`);
  }
  const ref = ImageRef.parse(values[0]!, '--tag');
  if (ref.digest !== undefined) {
    throw new InvalidInputError('--tag', `"${values[0]}" names a digest; the build publishes under a tag, ${example}`);
  }
  return ref;
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
