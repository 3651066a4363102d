import { Command, Option } from 'commander';
import { createLogger, DEFAULT_MAX_DISK, DEFAULT_RETENTION, errorMessage, InvalidInputError } from '@archfarm/common';
import { Agent, DEFAULT_CANDIDATES } from './agent';
import { DockerEngine, parseDockerHost } from './engine';
import { compileAgentOptions } from './options';
import { ARCHFARM_VERSION } from '@archfarm/common';

const program = new Command('archfarm-agent')
  .version(ARCHFARM_VERSION)
  .description('The archfarm build agent: dials out to the coordinator and builds its jobs with the local container engine.')
  .option('--coordinator <host:port>', 'coordinator address (or ARCHFARM_COORDINATOR)')
  .option('--name <name>', 'name in the fleet (default: host name)')
  .option('--state-dir <dir>', 'where contexts and scratch files are kept', '.archfarm/agent')
  .option('--docker-host <url>', 'engine API: unix:///var/run/docker.sock or tcp://host:2375 (default DOCKER_HOST)')
  .option('--platforms <list>', `serve only these platforms, or ARCHFARM_PLATFORMS (default: every one of ${DEFAULT_CANDIDATES.join(', ')} the engine proves it can build)`)
  .addOption(new Option('--platform <list>', 'same as --platforms').hideHelp())
  .addOption(new Option('--slots <n>', 'jobs at once (default: half the CPUs, at least 1)').argParser(Number))
  .addOption(new Option('--probe-interval <ms>', 'how often to probe the engine again for what it can build').default(600_000).argParser(Number))
  .option('--join-token <token>', 'first start only: the join token from `archfarm tokens create` (or ARCHFARM_JOIN_TOKEN)')
  .option('--ca-fingerprint <sha256:hex>', "first start only: the coordinator CA's fingerprint, pinned before anything is sent")
  .option('--insecure', 'DEV MODE: plaintext, for a coordinator started with --insecure')
  .option('--http-listen <host:port>', 'plain-HTTP listener for /metrics, /healthz and /readyz (off by default; keep it on loopback or a private network)')
  .option('--retention <duration>', `prune finished work (contexts, spool files, job images) older than this (default ${DEFAULT_RETENTION})`)
  .option('--max-disk <size>', `prune the oldest finished work beyond this size (default ${DEFAULT_MAX_DISK})`)
  .option('--label <key=value>', 'label shown in `archfarm agents` (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
  .addHelpText('after', '\nExample (a Raspberry Pi, first start):\n  archfarm-agent --coordinator 192.168.1.10:7420 --name pi-1 --state-dir /var/lib/archfarm-agent \\\n      --join-token afj_... --ca-fingerprint sha256:...')
  .action(async (opts: Record<string, unknown>) => {
    const options = compileAgentOptions({
      coordinator: opts.coordinator as string | undefined,
      name: opts.name as string | undefined,
      stateDir: opts.stateDir as string,
      dockerHost: opts.dockerHost as string | undefined,
      platforms: (opts.platforms ?? opts.platform) as string | undefined,
      slots: opts.slots as number | undefined,
      probeIntervalMs: opts.probeInterval as number,
      labels: opts.label as string[],
      joinToken: opts.joinToken as string | undefined,
      caFingerprint: opts.caFingerprint as string | undefined,
      insecure: Boolean(opts.insecure),
      retention: opts.retention as string | undefined,
      maxDisk: opts.maxDisk as string | undefined,
      httpListen: opts.httpListen as string | undefined,
    });
    const logger = createLogger('archfarm-agent').child({ agent: options.name });
    const agent = new Agent(options, new DockerEngine({ host: parseDockerHost(options.dockerHost) }), logger);
    await agent.start();
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void agent.stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`archfarm-agent: ${errorMessage(err)}\n`);
  process.exit(err instanceof InvalidInputError ? 2 : 1);
});
