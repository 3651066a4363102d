import { Command, Option } from 'commander';
import { InvalidInputError, errorMessage } from '@archfarm/common';
import type { AddScheduleRequest } from '@archfarm/proto';
import { connectBuildService, connectScheduleService, openConnection, type BuildCalls } from '../client';
import { warn, type CommandContext } from '../command-context';
import { packContext } from '../context-tar';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';
import { createRenderer } from '../progress/create-renderer';
import { ensureContext } from '../upload';
import { addBuildCommand } from './build';
import { compileBuildOptions, type BuildFlags, type BuildOptions } from './build-options';
import { submitDeadlineMs, submitRequest } from './build-request';
import { scheduleJson } from './schedules-json';
import { addedLines } from './schedules-text';

const EXAMPLES = `
Examples:
  # Rebuild every night at 03:00 Zurich time, for four CPUs
  archfarm schedules add nightly --cron "0 3 * * *" --timezone Europe/Zurich \\
      --platform linux/amd64,linux/arm64,linux/arm/v7,linux/s390x -t 127.0.0.1:5000/hello:1 .

  # Check every hour; build only when a FROM image (per platform) changed in its registry
  archfarm schedules add app-patched --cron "0 * * * *" --on-base-change \\
      --platform linux/arm64,linux/s390x -t reg.example/app:1.4 -f docker/Dockerfile.release .

  # Six fields: seconds first
  archfarm schedules add often --cron "*/30 * * * * *" -t 127.0.0.1:5000/hello:dev .

  # A git context (buildx's syntax): each tick fetches the branch; with --on-base-change it
  # builds only when its commit or a base image changed
  archfarm schedules add app-main --cron "*/15 * * * *" --on-base-change \
      -t reg.example/app:main https://git.example/org/app.git#main:docker

The build flags are those of \`archfarm build\`, read the same way, once, now: the platforms
(else $DOCKER_DEFAULT_PLATFORM, else this machine's), build args from this environment, and
CONTEXT_DIR, packed with its .dockerignore and uploaded as \`archfarm build\` does; the
coordinator keeps (pins) it while the schedule exists. A GIT_URL is sent as it is, nothing
uploaded: the coordinator fetches the ref at each tick and records the commit. Flags about one CLI session
(--progress, --detach, --plan, --metadata-file, --iidfile, --load) do not apply. --secret and
--forward-credentials are refused: a schedule runs later, without you, and pushes with the
coordinator's own logins (\`archfarm registry login\`). On success it prints the schedule
and its next five runs, in its time zone and in UTC.`;

/** Flags of `archfarm build` about one CLI session, not about the build: no schedule has them. */
const SESSION_FLAGS: ReadonlySet<string> = new Set(['--progress', '--output', '--metadata-file', '--iidfile', '--detach', '--plan', '--load', '--no-docker-config']);

/** What a stored schedule cannot carry, and what to do instead. */
const REFUSED: Readonly<Record<string, { key: 'secret' | 'forwardCredentials'; why: string }>> = {
  '--secret': {
    key: 'secret',
    why: 'a schedule cannot hold secret values: the coordinator keeps them in memory for one build only, never in its store; run a build that needs one with `archfarm build --secret`',
  },
  '--forward-credentials': {
    key: 'forwardCredentials',
    why: "a schedule runs later, without you: it pushes with the coordinator's own logins; store one with `archfarm registry login REGISTRY` (admin) instead",
  },
};

interface AddFlags extends Omit<BuildFlags, 'output'> {
  cron: string;
  timezone?: string;
  onBaseChange?: boolean;
  output?: string;
}

/** `archfarm schedules add NAME --cron EXPR [build flags] (CONTEXT_DIR | GIT_URL)`. */
export function addSchedulesAddCommand(schedules: Command, ctx: CommandContext): void {
  const add = schedules
    .command('add')
    .description("add a schedule: a build (archfarm build's flags) that the coordinator runs on a cron")
    .argument('<NAME>', "the schedule's name: lower-case letters, digits, '.', '_', '-', e.g. nightly")
    .argument('<CONTEXT_DIR|GIT_URL>', "directory with the build's files (uploaded now), or a git repository as buildx takes it, URL#REF:SUBDIR (fetched at each tick)")
    .requiredOption('--cron <expression>', 'when to build: five fields (minute hour day month weekday) or six (seconds first), as node-cron reads them')
    .option('--timezone <zone>', 'IANA time zone the cron follows, e.g. Europe/Zurich (default: UTC)')
    .option('--on-base-change', 'at each tick, build only when a FROM image (per platform) or the git commit changed since the last successful build')
    .addOption(choiceOption('--output <format>', 'how to print the added schedule: text or json (default: text)', OUTPUT_CHOICES));
  for (const option of buildFlagOptions(ctx)) add.addOption(option);
  add.addHelpText('after', EXAMPLES).action((name: string, contextDir: string, _flags: unknown, cmd: Command) => runSchedulesAdd(name, contextDir, cmd.optsWithGlobals<AddFlags>(), ctx));
}

/**
 * `archfarm build`'s own options (one flag table, its help and parsing), without those about
 * one CLI session; --secret and --forward-credentials stay, to be refused with the fix.
 */
function buildFlagOptions(ctx: CommandContext): Option[] {
  const scratch = new Command();
  addBuildCommand(scratch, ctx);
  const build = scratch.commands[0]!;
  return build.options
    .filter((o) => !SESSION_FLAGS.has(o.long ?? ''))
    .map((o) => {
      const refused = REFUSED[o.long ?? ''];
      return refused ? new Option(o.flags, `refused: ${refused.why}`) : o;
    });
}

export async function runSchedulesAdd(name: string, contextArg: string, flags: AddFlags, ctx: CommandContext): Promise<void> {
  for (const [flag, { key, why }] of Object.entries(REFUSED)) if (flags[key] !== undefined) throw new InvalidInputError(flag, why);
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const opts = await compileBuildOptions(contextArg, { ...flags, output: undefined }, { cwd: ctx.io.cwd, env: ctx.io.env });
  const conn = await openConnection(opts.connection, (message) => warn(ctx, message));
  const builds = connectBuildService(conn);
  const schedules = connectScheduleService(conn);
  try {
    // A git context is the coordinator's to fetch, at each tick: nothing to pack or upload.
    const contextDigest = opts.git ? '' : await uploadContextDir(builds, opts, ctx);
    const request: AddScheduleRequest = { name, cron: flags.cron, timezone: flags.timezone ?? '', build: submitRequest(opts, contextDigest), onBaseChange: flags.onBaseChange === true };
    // With a git context the coordinator fetches it once to check it builds: as long as a git build's submit.
    const schedule = await schedules.addSchedule(request, { deadlineMs: submitDeadlineMs(opts) });
    if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(scheduleJson(schedule), null, 2));
    else for (const line of addedLines(schedule)) writeLine(ctx.io.stdout, line);
  } finally {
    builds.close();
    schedules.close();
  }
}

/** Packs CONTEXT_DIR as `archfarm build` does (its ignore rules) and uploads it unless the coordinator has it. */
async function uploadContextDir(client: BuildCalls, opts: BuildOptions, ctx: CommandContext): Promise<string> {
  const context = await packContext({ contextDir: opts.contextDir, dockerfile: opts.dockerfile }).catch((err: unknown) => {
    // An unreadable file or a vanished one is a problem with the input.
    if (typeof (err as NodeJS.ErrnoException).code === 'string') throw new InvalidInputError('CONTEXT_DIR', `cannot pack ${opts.contextDir}: ${errorMessage(err)}`, { cause: err });
    throw err;
  });
  const renderer = createRenderer('plain', ctx.io.stderr);
  try {
    await ensureContext(client, opts.coordinator, context, (note) => renderer.context(note));
  } finally {
    await context.dispose();
  }
  return context.digest;
}
