import type { Command } from 'commander';
import { DIGEST, InvalidInputError, errorMessage } from '@archfarm/common';
import { BuildState, type BuildFinished } from '@archfarm/proto';
import { connectBuildService, openConnection, type BuildCalls } from '../client';
import { warn, type CommandContext } from '../command-context';
import { packContext, type ContextTar } from '../context-tar';
import { InterruptedError } from '../errors';
import { askCancelOrDetach, canAskOnInterrupt } from '../interrupt-choice';
import { Interrupts } from '../interrupts';
import { collect } from '../options';
import { createRenderer } from '../progress/create-renderer';
import { detachedLines } from '../progress/detached';
import { BuildMonitor } from '../progress/monitor';
import { say, type ProgressRenderer } from '../progress/renderer';
import { isTerminal, resolveProgress } from '../progress/terminal';
import { ensureContext } from '../upload';
import { watchBuild } from '../watch';
import { inspectBuild } from './build-id';
import { compileBuildOptions, type BuildFlags, type BuildOptions } from './build-options';
import { writeResultFiles } from './build-metadata';
import { planBuild, printPlan } from './build-plan';
import { submitDeadlineMs, submitRequest } from './build-request';
import { printDetached, settleBuild } from './build-result';

/** How long to wait for the `finished` event after cancelling on Ctrl-C. */
export const CANCEL_GRACE_MS = 10_000;

const EXAMPLES = `
Examples:
  # Build for four CPUs and publish one multi-platform image; prints its digest
  archfarm build --platform linux/amd64,linux/arm64,linux/arm/v7,linux/s390x \\
      -t 127.0.0.1:5000/hello:1 .

  # Another Dockerfile, build args, a stage, JSON result for scripts
  archfarm build --platform linux/arm64 --platform linux/s390x -t reg.example/app:1.4 \\
      -f docker/Dockerfile.release --build-arg VERSION=1.4 --target runtime --output json .

  # Fail if a platform waits more than 5 minutes for an agent, or the build takes over an hour
  archfarm build --platform linux/ppc64le -t reg.example/app:1.4 --wait-timeout 5m --timeout 1h .

  # Run each platform's image once before publishing; publish what succeeded
  archfarm build --platform linux/arm64,linux/arm/v7 -t reg.example/app:1.4 \\
      --smoke '/app/server --self-test' --allow-partial .

  # Never emulate; only agents labelled rack=pi-shelf; first show where each platform would run
  archfarm build --platform linux/arm64,linux/arm/v7 -t reg.example/app:1.4 \\
      --emulation deny --require-label rack=pi-shelf --plan .

  # Submit and return; follow it later
  id=$(archfarm build --detach -t reg.example/app:1.4 .) && archfarm logs -f "$id"

  # A docker buildx build line from CI works as it is: several tags, labels, annotations,
  # a secret, --push, and buildx's metadata file for later steps
  archfarm build --platform linux/amd64,linux/arm64 -t reg.example/app:1.4 -t reg.example/app:latest \\
      --label org.opencontainers.image.revision=$GITHUB_SHA \\
      --annotation index:org.opencontainers.image.description="my app" \\
      --secret id=npmrc,src=$HOME/.npmrc --pull --push --metadata-file meta.json .

  # A git context, buildx's syntax: branch, tag or commit after #, a directory after :
  archfarm build --platform linux/amd64,linux/arm64 -t reg.example/app:1.4 \\
      https://git.example/org/app.git#v1.4:docker

GIT_URL is taken as a repository by docker's rule: an http(s) URL ending in .git (then
#REF:SUBDIR), or one starting with git://, ssh://, git@ or github.com/; anything else is a
directory. The coordinator fetches it (its own git client, so agents need no access to the git
host), builds that tree and records the commit (\`archfarm builds inspect\`). REF is a branch,
tag, full ref or full commit id (default: the remote's HEAD); SUBDIR defaults to the root.
Credentials in the URL are refused: the URL is stored and shown with the build.

-o/--output takes archfarm's result format (text, json) and buildx's exporters: type=registry
(or type=image,push=true) is what the farm always does, and its name= adds tags; type=docker,
local, tar, oci, a path and --load are refused, since the farm publishes to the registry only.
--metadata-file and --iidfile are written once the index is published, whole or not at all.
--secret follows buildx: type=file|env, id=ID (required), src=FILE or env=VAR; with only an id,
the variable ID if set, else the file ID. BUILDKIT_PROGRESS and DOCKER_DEFAULT_PLATFORM set the
defaults of --progress and --platform, as with buildx.

stdout holds only the result: the digest, the build id (--detach), the plan (--plan, exit 0
even when a platform has no agent), or JSON (--output json); progress and logs go to stderr.
Registry credentials: by default the build pushes with what an admin stored on the
coordinator (\`archfarm registry login\`). --forward-credentials sends instead the first tag's
credentials from your Docker config (\`docker login\`, or the credHelpers/credsStore helper
it names), for this build alone; agents then get a token for the tag's repository only where
the registry speaks token auth, else that login for their one job, in memory.
A lost stream (a dropped connection, a coordinator restart) is re-attached with backoff, a
line on stderr saying so, without a log line lost or shown twice.
Exit status: 0 published (or detached: Ctrl-C, then d, under --progress tty), 1 build failed
or cancelled (or published, but --metadata-file or --iidfile could not be written), 2 bad input, 3 coordinator unreachable (while following:
for 10 minutes), 4 published without some platforms (--allow-partial), 5 not allowed (the
token's role may not build), 130 interrupted (the build is cancelled).`;

/** `archfarm build`: pack and upload the context, build every platform, publish the index. */
export function addBuildCommand(program: Command, ctx: CommandContext): void {
  program
    .command('build')
    .description('build a Dockerfile on the farm for several platforms and publish one multi-platform image')
    .argument('<CONTEXT_DIR|GIT_URL>', "directory with the build's files (what COPY sees), or a git repository as buildx takes it: URL#REF:SUBDIR")
    .option('--platform <os/arch[/variant],...>', "platform(s) to build; repeat or comma-separate (default: $DOCKER_DEFAULT_PLATFORM, else this machine's)", collect)
    .option('-t, --tag <ref>', 'image to publish, registry/repository:tag (required); repeat for more tags, all on the same index', collect)
    .option('-f, --file <path>', 'Dockerfile, relative to the current directory, inside the context (default: CONTEXT_DIR/Dockerfile); with a GIT_URL, a path inside its SUBDIR')
    .option('--build-arg <KEY=VALUE>', 'build-time variable; a bare KEY takes its value from the environment; repeatable ($SOURCE_DATE_EPOCH is passed on unless given)', collect)
    .option('--target <stage>', 'build this stage instead of the last one')
    .option('--label <KEY=VALUE>', 'label in each image config; repeatable', collect)
    .option('--annotation <[TYPE[PLATFORM]:]KEY=VALUE>', 'OCI annotation; TYPE is index, manifest (the default) or manifest-descriptor, comma-separated; repeatable', collect)
    .option('--secret <id=ID[,src=FILE|env=VAR]>', 'secret for RUN --mount=type=secret,id=ID (at most 500 KiB; never logged or stored); repeatable', collect)
    .option('--pull', 'resolve every FROM image afresh on each platform')
    .option('--no-cache', "don't use the engines' build cache")
    .option('--progress <mode>', 'progress on stderr: auto, tty (live lines per platform, a summary table; Ctrl-C asks cancel or detach), plain, json, quiet; rawjson is json (default: $BUILDKIT_PROGRESS, else auto: tty on a terminal, plain otherwise)')
    .option('-o, --output <format|type=registry[,name=REF]>', 'result on stdout: text (the digest) or json (default: text); buildx\'s type=registry is accepted, name= adds tags; repeatable', collect)
    .option('--push', 'accepted for buildx scripts: the farm always publishes to the registry')
    .option('--load', 'refused: the farm publishes to the registry; docker pull the tag afterwards')
    .option('--metadata-file <file>', "once published, write buildx's metadata JSON (containerimage.digest, image.name, ...) to this file")
    .option('--iidfile <file>', "once published, write the index digest to this file")
    .option('--wait-timeout <duration>', 'fail when a platform waits this long for an agent: 90, 30s, 5m, 1h (default: no limit)')
    .option('--timeout <duration>', 'fail (and stop) the build when it runs longer than this, e.g. 45m (default: no limit)')
    .option('--smoke <command>', "run each platform's image once with this command before publishing; all must exit 0 (split like sh, run without one)")
    .option('--allow-partial', 'publish the platforms that succeeded when others fail; exit status 4 says so')
    .option('--detach', 'print the build id once submitted and return, instead of following the build')
    .option('--emulation <policy>', 'prefer-native (emulate only when no native agent frees up soon), deny (never emulate) or allow (fastest expected) (default: prefer-native)')
    .option('--require-label <KEY=VALUE>', 'only agents with this label; repeatable', collect)
    .option('--cross-check <os/arch[/variant]>', 'build this platform (one of --platform) on two different agents, native and emulated where both exist, with SOURCE_DATE_EPOCH fixed (0 unless given); publish only if both give the same image, else fail naming the first layer and file that differ; repeatable', collect)
    .option('--provenance <false|true|mode=max>', "buildx's flag: false publishes no signed provenance attestation; any other value (true, mode=min, mode=max) the farm's one kind (default: on)")
    .option('--plan', 'upload the context and print where each platform would run and why (PLATFORM AGENT MODE REASON); build nothing')
    .option('--no-docker-config', "don't read $DOCKER_CONFIG/config.json or ~/.docker/config.json (nothing is sent from it without --forward-credentials)")
    .option('--forward-credentials', "send the first tag's registry credentials from your Docker config to the coordinator for this build (default: the coordinator's stored `registry login`)")
    .addHelpText('after', EXAMPLES)
    .action((contextDir: string, _flags: unknown, cmd: Command) => runBuild(contextDir, cmd.optsWithGlobals<BuildFlags>(), ctx));
}

/** Runs a build to its end; throws a typed error for every way it can fail. */
export async function runBuild(contextArg: string, flags: BuildFlags, ctx: CommandContext): Promise<void> {
  const { io } = ctx;
  const opts = await compileBuildOptions(contextArg, flags, { cwd: io.cwd, env: io.env });
  const progress = resolveProgress(opts.progress, { terminal: isTerminal(io.stderr), term: io.env.TERM });
  if (progress === 'json') ctx.errorFormat = 'json';
  const renderer = createRenderer(progress, io.stderr);
  const interrupts = new Interrupts(io.signals, io.exit);
  let client: BuildCalls | undefined;
  try {
    const conn = await openConnection(opts.connection, (message) => warn(ctx, message));
    // A git context is fetched by the coordinator: nothing to pack or upload.
    const context = opts.git ? undefined : await pack(opts, interrupts);
    client = connectBuildService(conn);
    const contextDigest = context ? await upload(client, opts, context, renderer, interrupts) : '';
    if (opts.plan) return printPlan(await planBuild(client, opts, contextDigest, interrupts), opts.output, io.stdout);
    const request = submitRequest(opts, contextDigest, { registryAuth: opts.registryAuth, secrets: opts.secrets });
    const { buildId } = await client.submitBuild(request, { deadlineMs: submitDeadlineMs(opts) });
    renderer.submitted(buildId, opts.platforms.map(String));
    if (opts.detach) return printDetached(buildId, opts.output, io.stdout);
    const monitor = new BuildMonitor(renderer);
    const finished = await follow(client, opts.coordinator, buildId, { monitor, renderer, interrupts, stdin: io.stdin });
    if (finished === 'detached') {
      // Ctrl-C, then d: the build goes on without us; stdout gets its id, as with --detach.
      renderer.close();
      for (const line of detachedLines(buildId)) say(io.stderr, line);
      return printDetached(buildId, opts.output, io.stdout);
    }
    const attempts = await failedAttempts(client, opts.coordinator, buildId, finished);
    // Before the result is printed: once the status says published, the files are there.
    if (finished.state === BuildState.BUILD_STATE_PUBLISHED && DIGEST.test(finished.digest)) await writeResultFiles(opts.resultFiles, buildId, finished);
    settleBuild(buildId, finished, { monitor, output: opts.output, stdout: io.stdout, attempts });
  } finally {
    renderer.close();
    interrupts.dispose();
    client?.close();
  }
}

async function pack(opts: BuildOptions, interrupts: Interrupts): Promise<ContextTar> {
  try {
    return await packContext({ contextDir: opts.contextDir, dockerfile: opts.dockerfile, signal: interrupts.signal });
  } catch (err) {
    interrupts.throwIfInterrupted();
    // An unreadable file or a vanished one is a problem with the input, found before connecting.
    if (typeof (err as NodeJS.ErrnoException).code === 'string') {
      throw new InvalidInputError('CONTEXT_DIR', `cannot pack ${opts.contextDir}: ${errorMessage(err)}`, { cause: err });
    }
    throw err;
  }
}

/** Uploads the context if the coordinator lacks it; returns its digest. */
async function upload(
  client: BuildCalls,
  opts: BuildOptions,
  context: ContextTar,
  renderer: ProgressRenderer,
  interrupts: Interrupts,
): Promise<string> {
  try {
    await ensureContext(client, opts.coordinator, context, (note) => renderer.context(note), interrupts.signal);
  } catch (err) {
    interrupts.throwIfInterrupted();
    throw err;
  } finally {
    await context.dispose();
  }
  interrupts.throwIfInterrupted();
  return context.digest;
}

/**
 * How many attempts the platform that failed the build had, for "after 3 attempts".
 * Only InspectBuild knows (an attempt lost before it logged leaves no trace in the
 * events); the failure is reported without the count if asking fails.
 */
async function failedAttempts(client: BuildCalls, address: string, buildId: string, finished: BuildFinished): Promise<number | undefined> {
  const { state, failedPlatform, error } = finished;
  if (state !== BuildState.BUILD_STATE_FAILED || !failedPlatform || error?.kind !== 'infrastructure') return undefined;
  try {
    const details = await inspectBuild(client, address, buildId);
    return details.platforms.find((p) => p.platform === failedPlatform)?.attempts.length || undefined;
  } catch {
    return undefined;
  }
}

/** What following a build shows and listens to. */
interface Following {
  monitor: BuildMonitor;
  renderer: ProgressRenderer;
  interrupts: Interrupts;
  /** Read only to ask "cancel or detach?" (../interrupt-choice). */
  stdin: NodeJS.ReadableStream;
}

/**
 * Watches the build to its end, re-attaching when its stream is lost. On a signal (even one
 * that came during SubmitBuild) cancels it, waits up to CANCEL_GRACE_MS for the final event,
 * and throws InterruptedError; but a Ctrl-C under a live view (--progress tty) with a
 * terminal to answer on first asks, and 'detached' is the answer d.
 */
async function follow(client: BuildCalls, address: string, buildId: string, how: Following): Promise<BuildFinished | 'detached'> {
  const { monitor, renderer, interrupts, stdin } = how;
  const watch = watchBuild(client, address, buildId, { onEvent: (event) => monitor.handle(event), onNote: (note) => renderer.reattach(note) });
  try {
    const first = await Promise.race([watch.finished, interrupts.fired]);
    if (typeof first !== 'string') return first;
    if (renderer.ask && canAskOnInterrupt(first, stdin)) {
      const choice = await askCancelOrDetach(stdin, (q) => renderer.ask?.(q), interrupts, watch.finished);
      // The build ended while the question was up: its outcome (or the watch's error) stands.
      if (choice === 'ended') return await watch.finished;
      if (choice === 'detach') return 'detached';
    }
    renderer.cancelling(buildId);
    try {
      await client.cancelBuild({ buildId });
    } catch (err) {
      throw new InterruptedError(first, buildId, errorMessage(err));
    }
    // The final event only confirms the cancel; a broken stream must not delay the exit.
    await withTimeout(watch.finished, CANCEL_GRACE_MS).catch(() => undefined);
    throw new InterruptedError(first, buildId);
  } finally {
    watch.stop();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
